/* nntrain cka CKPT_A [CKPT_B] [--layers ...] [--split S] [--rows A:B] [--kernel linear|rbf]
 *            [--minibatch M] -o DIR
 * CKA between every pair of layers of one checkpoint, or of A's layers against B's, on the
 * same samples: DIR/cka.csv (rows: A's layers, columns: B's) and the heatmap DIR/cka.svg. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "study/cka.h"
#include "study/output.h"
#include "study/plot.h"

static const nni_cli_flag cka_flags[] = {
    {"layers", 0, "L1,L2|all", "layers of the first checkpoint (default: all)"},
    {"layers-b", 0, "L1,L2|all", "layers of the second checkpoint (default: as --layers)"},
    {"split", 0, "NAME", "the dataset split (default: test)"},
    {"rows", 0, "A:B", "rows A to B-1 of the split (default: all)"},
    {"data", 0, "FILE", "another dataset file than the one the configs name"},
    {"kernel", 0, "linear|rbf", "linear (default), or RBF with the median-distance bandwidth"},
    {"minibatch", 0, "M", "minibatch CKA: unbiased HSIC averaged over batches of M rows"},
    {"output", 'o', "DIR", "the output directory (required; must not exist)"},
    {NULL, 0, NULL, NULL},
};

const nni_cli_spec nni_cka_spec = {
    "cka", "CKPT_A [CKPT_B]", "centered kernel alignment between layers, as CSV and a heatmap",
    1, 2, cka_flags};

typedef struct cka_args {
    nni_reps_request a, b;
    nni_cka_kernel kernel;
    int64_t minibatch;
    const char *output;
    int two;
} cka_args;

static nn_status read_args(const nni_cli_args *args, cka_args *c, nn_error *err)
{
    memset(c, 0, sizeof *c);
    const char *split = nni_cli_value(args, "split") ? nni_cli_value(args, "split") : "test";
    const char *layers = nni_cli_value(args, "layers") ? nni_cli_value(args, "layers") : "all";
    c->a = (nni_reps_request){.checkpoint = args->operands[0], .split = split,
                              .data_path = nni_cli_value(args, "data"), .layers = layers};
    c->two = args->n_operands == 2;
    c->b = c->a;
    c->b.checkpoint = c->two ? args->operands[1] : NULL;
    if (nni_cli_value(args, "layers-b"))
        c->b.layers = nni_cli_value(args, "layers-b");
    c->output = nni_cli_value(args, "output");
    if (!c->output)
        return nn_fail(err, NN_ERR_CONFIG, "cka: -o DIR is required (see nntrain cka --help)");
    const char *kernel = nni_cli_value(args, "kernel");
    if (kernel && strcmp(kernel, "linear") && strcmp(kernel, "rbf"))
        return nn_fail(err, NN_ERR_CONFIG, "cka: --kernel '%s': expected linear or rbf", kernel);
    c->kernel = kernel && !strcmp(kernel, "rbf") ? NNI_CKA_RBF : NNI_CKA_LINEAR;
    const char *minibatch = nni_cli_value(args, "minibatch");
    if (minibatch) {
        char *end;
        c->minibatch = strtoll(minibatch, &end, 10);
        if (*end || c->minibatch < 4)
            return nn_fail(err, NN_ERR_CONFIG, "cka: --minibatch '%s': expected a number of rows "
                           ">= 4", minibatch);
    }
    nn_status st = nni_parse_rows(nni_cli_value(args, "rows"), &c->a.row_first, &c->a.row_end,
                                  err);
    c->b.row_first = c->a.row_first;
    c->b.row_end = c->a.row_end;
    return st;
}

static nn_status write_results(const cka_args *c, const nni_reps *a, const nni_reps *b,
                               const double *matrix, nn_error *err)
{
    const char **rows = calloc((size_t)a->n_layers, sizeof *rows);
    const char **cols = calloc((size_t)b->n_layers, sizeof *cols);
    if (!rows || !cols) {
        free(rows);
        free(cols);
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    for (int i = 0; i < a->n_layers; i++)
        rows[i] = a->names[i];
    for (int j = 0; j < b->n_layers; j++)
        cols[j] = b->names[j];
    char csv[1100], svg[1100], title[600];
    snprintf(title, sizeof title, "%s CKA%s, %lld samples of /%s",
             c->kernel == NNI_CKA_RBF ? "RBF" : "linear", c->minibatch ? " (minibatch)" : "",
             (long long)a->rows, c->a.split);
    nn_status st = nni_study_path(csv, sizeof csv, c->output, "cka.csv", err);
    if (!st)
        st = nni_study_path(svg, sizeof svg, c->output, "cka.svg", err);
    if (!st)
        st = nni_study_new_dir(c->output, err);
    if (!st)
        st = nni_study_write_matrix_csv(csv, c->two ? "a\\b" : "layer", matrix, a->n_layers,
                                        b->n_layers, rows, cols, err);
    if (!st)
        st = nni_svg_heatmap(svg, title, matrix, a->n_layers, b->n_layers, rows, cols, err);
    if (!st) {
        printf("%s\n%-16s", title, "");
        for (int j = 0; j < b->n_layers; j++)
            printf(" %9.9s", cols[j]);
        printf("\n");
        for (int i = 0; i < a->n_layers; i++) {
            printf("%-16.16s", rows[i]);
            for (int j = 0; j < b->n_layers; j++)
                printf(" %9.4f", matrix[i * b->n_layers + j]);
            printf("\n");
        }
        printf("wrote %s and %s\n", csv, svg);
    }
    free(rows);
    free(cols);
    return st;
}

int nni_cmd_cka(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nni_cli_args args;
    cka_args c;
    if (nni_cli_parse(argc, argv, &nni_cka_spec, &args, &err))
        return nni_cli_report(world, &err);
    if (args.help)
        return 0;
    if (read_args(&args, &c, &err))
        return nni_cli_report(world, &err);
    nni_reps a = {0}, b = {0};
    nn_status st = nni_study_check_absent(c.output, &err);
    if (!st)
        st = nni_reps_extract(&c.a, world, &a, &err);
    if (!st && c.two) {
        st = nni_reps_extract(&c.b, world, &b, &err);
        if (!st)
            st = nni_reps_check_same_samples(&a, c.a.checkpoint, &b, c.b.checkpoint, &err);
    }
    const nni_reps *other = c.two ? &b : &a;
    double *matrix = st ? NULL : calloc((size_t)(a.n_layers * other->n_layers), sizeof *matrix);
    if (!st && !matrix)
        st = nn_fail(&err, NN_ERR_OTHER, "out of memory");
    if (!st && world->rank == 0)
        st = nni_cka_reps(&a, other, c.kernel, c.minibatch, matrix, &err);
    if (!st && world->rank == 0)
        st = write_results(&c, &a, other, matrix, &err);
    free(matrix);
    nni_reps_free(&a);
    nni_reps_free(&b);
    return st ? nni_cli_report(world, &err) : 0;
}
