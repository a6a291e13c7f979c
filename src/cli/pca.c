/* nntrain pca DATA.h5 --components K [--split S] [--rows A:B] -o PCA.h5
 * The top K principal components of a split as a dense layer's weight (K x features) and
 * bias (-weight mean), and the variance each explains. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "nn/data.h"
#include "study/output.h"
#include "study/pca.h"
#include "study/represent.h"

static const nni_cli_flag pca_flags[] = {
    {"components", 'k', "K", "how many components (required)"},
    {"split", 0, "NAME", "the dataset split (default: train)"},
    {"rows", 0, "A:B", "rows A to B-1 of the split (default: all)"},
    {"output", 'o', "PCA.h5", "the file to write (required; must not exist)"},
    {NULL, 0, NULL, NULL},
};

const nni_cli_spec nni_pca_spec = {
    "pca", "DATA.h5", "principal components, written as a dense layer's weight and bias", 1, 1,
    pca_flags};

static void print_variance(const nni_pca *p)
{
    double cumulative = 0;
    printf("%lld rows, %lld features, total variance %.4f\n", (long long)p->rows,
           (long long)p->features, p->total_variance);
    printf("component  variance  explained  cumulative\n");
    for (int c = 0; c < p->components; c++) {
        double ratio = p->variance[c] / p->total_variance;
        cumulative += ratio;
        if (c < 10 || c == p->components - 1)
            printf("%9d %9.4f %9.2f%% %10.2f%%\n", c + 1, p->variance[c], 100 * ratio,
                   100 * cumulative);
        else if (c == 10)
            printf("      ...\n");
    }
}

int nni_cmd_pca(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nni_cli_args args;
    if (nni_cli_parse(argc, argv, &nni_pca_spec, &args, &err))
        return nni_cli_report(world, &err);
    if (args.help)
        return 0;
    const char *data = args.operands[0], *output = nni_cli_value(&args, "output");
    const char *split = nni_cli_value(&args, "split") ? nni_cli_value(&args, "split") : "train";
    const char *k_text = nni_cli_value(&args, "components");
    char *end = NULL;
    long k = k_text ? strtol(k_text, &end, 10) : 0;
    int64_t first, last;
    if (!output)
        nn_fail(&err, NN_ERR_CONFIG, "pca: -o PCA.h5 is required (see nntrain pca --help)");
    else if (!k_text || *end || k < 1)
        nn_fail(&err, NN_ERR_CONFIG, "pca: --components K (a number >= 1) is required");
    else if (!nni_study_check_absent(output, &err))
        nni_parse_rows(nni_cli_value(&args, "rows"), &first, &last, &err);
    if (err.status)
        return nni_cli_report(world, &err);
    nn_dataset ds;
    nn_status st = nn_dataset_load(data, split, &ds, &err);
    if (!st && (first >= ds.n || last > ds.n))
        st = nn_fail(&err, NN_ERR_CONFIG, "--rows %lld:%lld: /%s has rows 0:%lld",
                     (long long)first, (long long)last, split, (long long)ds.n);
    nni_pca pca = {0};
    if (!st)
        st = nni_pca_fit(&ds, first, last < 0 ? ds.n : last, (int)k, world, &pca, &err);
    if (!st && world->rank == 0)
        st = nni_pca_write(output, &pca, &err);
    if (!st && world->rank == 0) {
        print_variance(&pca);
        printf("wrote %s: weight (%d x %lld), bias, mean, explained_variance(_ratio)\n", output,
               pca.components, (long long)pca.features);
    }
    nni_pca_free(&pca);
    nn_dataset_free(&ds);
    return st ? nni_cli_report(world, &err) : 0;
}
