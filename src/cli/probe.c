/* nntrain probe CHECKPOINT [--layers ...] [--concat L1,L2,...] [--train-split S]
 *              [--eval-split S] [--epochs E] [--lr LR] -o DIR
 * A linear softmax probe per layer (and one on the concatenation of the --concat layers),
 * trained on the frozen representations of the training rows and scored on the evaluation
 * rows: DIR/probe.csv and the plot of accuracy by depth DIR/probe.svg. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/files.h"
#include "core/threads.h"
#include "study/output.h"
#include "study/plot.h"
#include "study/probe.h"
#include "study/represent.h"

static const nni_cli_flag probe_flags[] = {
    {"layers", 0, "L1,L2|all", "the layers to probe (default: all)"},
    {"concat", 0, "L1,L2,...", "also probe the concatenation of these layers"},
    {"train-split", 0, "NAME", "the split the probes learn from (default: train)"},
    {"eval-split", 0, "NAME", "the split they are scored on (default: test)"},
    {"train-rows", 0, "A:B", "rows of the training split (default: all)"},
    {"eval-rows", 0, "A:B", "rows of the evaluation split (default: all)"},
    {"data", 0, "FILE", "another dataset file than the one the config names"},
    {"epochs", 0, "N", "passes over the training rows (default: 10)"},
    {"lr", 0, "LR", "Adam's learning rate (default: 0.001)"},
    {"batch", 0, "N", "rows per step (default: 256)"},
    {"output", 'o', "DIR", "the output directory (required; must not exist)"},
    {NULL, 0, NULL, NULL},
};

const nni_cli_spec nni_probe_spec = {
    "probe", "CHECKPOINT", "linear probes: how separable the classes are at each layer", 1, 1,
    probe_flags};

typedef struct probe_args {
    nni_reps_request train, eval;
    const char *concat, *output;
    char layers[1024];
    int n_probed; /* the first n_probed extracted layers are probed; -1: all of them */
    nni_probe_options opts;
} probe_args;

static nn_status read_number(const nni_cli_args *args, const char *name, double def,
                             double min, double *out, nn_error *err)
{
    const char *text = nni_cli_value(args, name);
    *out = def;
    if (!text)
        return NN_OK;
    char *end;
    *out = strtod(text, &end);
    if (*end || !(*out >= min) || !isfinite(*out))
        return nn_fail(err, NN_ERR_CONFIG, "probe: --%s '%s': expected a number >= %g", name,
                       text, min);
    return NN_OK;
}

static nn_status read_args(const nni_cli_args *args, probe_args *p, nn_error *err)
{
    memset(p, 0, sizeof *p);
    const char *layers = nni_cli_value(args, "layers") ? nni_cli_value(args, "layers") : "all";
    p->concat = nni_cli_value(args, "concat");
    /* The probed layers and the concatenated ones come from one extraction. */
    snprintf(p->layers, sizeof p->layers, "%s", layers);
    p->n_probed = -1;
    if (strcmp(layers, "all")) {
        p->n_probed = 1;
        for (const char *c = layers; *c; c++)
            p->n_probed += *c == ',';
    }
    if (p->concat && strcmp(layers, "all")) {
        char names[1024];
        snprintf(names, sizeof names, "%s", p->concat);
        for (char *name = strtok(names, ","); name; name = strtok(NULL, ",")) {
            char padded[1100], list[1100];
            snprintf(padded, sizeof padded, ",%s,", name);
            snprintf(list, sizeof list, ",%s,", p->layers);
            if (!strstr(list, padded) && strlen(p->layers) + strlen(name) + 2 < sizeof p->layers)
                strcat(strcat(p->layers, ","), name);
        }
    }
    p->train = (nni_reps_request){
        .checkpoint = args->operands[0], .data_path = nni_cli_value(args, "data"),
        .split = nni_cli_value(args, "train-split") ? nni_cli_value(args, "train-split")
                                                    : "train",
        .layers = p->layers};
    p->eval = p->train;
    p->eval.split = nni_cli_value(args, "eval-split") ? nni_cli_value(args, "eval-split")
                                                      : "test";
    p->output = nni_cli_value(args, "output");
    if (!p->output)
        return nn_fail(err, NN_ERR_CONFIG, "probe: -o DIR is required (see nntrain probe --help)");
    double epochs, lr, batch;
    nn_status st;
    if ((st = read_number(args, "epochs", 10, 1, &epochs, err)) ||
        (st = read_number(args, "lr", 1e-3, 1e-12, &lr, err)) ||
        (st = read_number(args, "batch", 256, 1, &batch, err)) ||
        (st = nni_parse_rows(nni_cli_value(args, "train-rows"), &p->train.row_first,
                             &p->train.row_end, err)) ||
        (st = nni_parse_rows(nni_cli_value(args, "eval-rows"), &p->eval.row_first,
                             &p->eval.row_end, err)))
        return st;
    p->opts = (nni_probe_options){.epochs = (int)epochs, .batch = (int64_t)batch, .lr = lr,
                                  .seed = 1};
    return nni_study_check_absent(p->output, err);
}

/* The --concat layers side by side: rows x (sum of widths), malloc'ed. */
static nn_status concatenate(const nni_reps *r, const char *names, float **out, int64_t *width,
                             nn_error *err)
{
    int index[64], n = 0;
    *width = 0;
    char copy[1024];
    snprintf(copy, sizeof copy, "%s", names);
    for (char *name = strtok(copy, ","); name; name = strtok(NULL, ",")) {
        int found = -1;
        for (int k = 0; k < r->n_layers; k++)
            if (!strcmp(r->names[k], name))
                found = k;
        if (found < 0)
            return nn_fail(err, NN_ERR_CONFIG, "--concat: unknown layer '%s'", name);
        if (n == 64)
            return nn_fail(err, NN_ERR_CONFIG, "--concat: more than 64 layers");
        index[n++] = found;
        *width += r->width[found];
    }
    if (n < 2)
        return nn_fail(err, NN_ERR_CONFIG, "--concat '%s': name two layers or more", names);
    *out = malloc((size_t)(r->rows * *width) * sizeof **out);
    if (!*out)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    for (int64_t row = 0; row < r->rows; row++) {
        float *dst = *out + row * *width;
        for (int i = 0; i < n; i++) {
            memcpy(dst, r->values[index[i]] + row * r->width[index[i]],
                   (size_t)r->width[index[i]] * sizeof *dst);
            dst += r->width[index[i]];
        }
    }
    return NN_OK;
}

/* The model's own accuracy on the evaluation rows (argmax of its output), or NaN. */
static double model_accuracy(const nni_reps *r)
{
    if (r->output_index < 0 || !r->labels)
        return NAN;
    int64_t width = r->width[r->output_index], correct = 0;
    const float *out = r->values[r->output_index];
    for (int64_t row = 0; row < r->rows; row++) {
        int64_t best = 0;
        for (int64_t c = 1; c < width; c++)
            if (out[row * width + c] > out[row * width + best])
                best = c;
        correct += best == r->labels[row];
    }
    return (double)correct / (double)r->rows;
}

static nn_status write_results(const probe_args *p, int n, const char *const *names,
                               const int64_t *widths, const double *train_acc,
                               const double *eval_acc, nn_error *err)
{
    char csv[1100], svg[1100];
    nn_status st = nni_study_path(csv, sizeof csv, p->output, "probe.csv", err);
    if (!st)
        st = nni_study_path(svg, sizeof svg, p->output, "probe.svg", err);
    if (!st)
        st = nni_study_new_dir(p->output, err);
    char *text = NULL;
    size_t size = 0;
    FILE *f = st ? NULL : open_memstream(&text, &size);
    if (!st && !f)
        st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    if (f) {
        fprintf(f, "layer,features,train_accuracy,eval_accuracy\n");
        for (int i = 0; i < n; i++)
            fprintf(f, "%s,%lld,%.6f,%.6f\n", names[i], (long long)widths[i], train_acc[i],
                    eval_acc[i]);
        fclose(f);
        st = nni_write_file_atomic(csv, text, size, err);
    }
    free(text);
    if (!st) {
        const double *series[2] = {train_acc, eval_acc};
        const char *series_names[2] = {p->train.split, p->eval.split};
        char title[256];
        snprintf(title, sizeof title, "linear probe accuracy by layer (%s)", p->train.checkpoint);
        double low = 1;
        for (int i = 0; i < n; i++)
            low = fmin(low, fmin(train_acc[i], eval_acc[i]));
        st = nni_svg_lines(svg, title, "accuracy", names, n, series, series_names, 2,
                           fmax(0, floor(low * 10) / 10), err);
    }
    if (!st)
        printf("wrote %s and %s\n", csv, svg);
    return st;
}

static nn_status run_probes(const probe_args *p, const nni_reps *train, const nni_reps *eval,
                            nn_error *err)
{
    int probed = p->n_probed < 0 ? train->n_layers : p->n_probed;
    int n = probed + (p->concat ? 1 : 0);
    const char **names = calloc((size_t)n, sizeof *names);
    int64_t *widths = calloc((size_t)n, sizeof *widths);
    double *train_acc = calloc((size_t)n, sizeof *train_acc);
    double *eval_acc = calloc((size_t)n, sizeof *eval_acc);
    float *cat_train = NULL, *cat_eval = NULL;
    char cat_name[1100];
    nn_status st = names && widths && train_acc && eval_acc
                       ? NN_OK : nn_fail(err, NN_ERR_OTHER, "out of memory");
    if (!st && p->concat) {
        /* "concat(a+b)": the name stays one CSV field. */
        snprintf(cat_name, sizeof cat_name, "concat(%s)", p->concat);
        for (char *c = cat_name; *c; c++)
            *c = *c == ',' ? '+' : *c;
        st = concatenate(train, p->concat, &cat_train, &widths[n - 1], err);
        if (!st)
            st = concatenate(eval, p->concat, &cat_eval, &widths[n - 1], err);
        names[n - 1] = cat_name;
    }
    if (!st)
        printf("%-24s %9s %9s %9s\n", "layer", "features", p->train.split, p->eval.split);
    for (int i = 0; !st && i < n; i++) {
        int is_cat = p->concat && i == n - 1;
        if (!is_cat) {
            names[i] = train->names[i];
            widths[i] = train->width[i];
        }
        nni_probe_data tr = {is_cat ? cat_train : train->values[i], train->labels, train->rows};
        nni_probe_data ev = {is_cat ? cat_eval : eval->values[i], eval->labels, eval->rows};
        st = nni_probe_fit(&tr, &ev, widths[i], train->num_classes, &p->opts, &train_acc[i],
                           &eval_acc[i], err);
        if (!st) {
            printf("%-24.24s %9lld %9.4f %9.4f\n", names[i], (long long)widths[i], train_acc[i],
                   eval_acc[i]);
            fflush(stdout);
        }
    }
    double own = model_accuracy(eval);
    if (!st && !isnan(own))
        printf("the model itself: %.4f on %s\n", own, p->eval.split);
    if (!st)
        st = write_results(p, n, names, widths, train_acc, eval_acc, err);
    free(names);
    free(widths);
    free(train_acc);
    free(eval_acc);
    free(cat_train);
    free(cat_eval);
    return st;
}

int nni_cmd_probe(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nni_cli_args args;
    probe_args p;
    if (nni_cli_parse(argc, argv, &nni_probe_spec, &args, &err))
        return nni_cli_report(world, &err);
    if (args.help)
        return 0;
    if (read_args(&args, &p, &err))
        return nni_cli_report(world, &err);
    nni_reps train = {0}, eval = {0};
    nn_status st = nni_reps_extract(&p.train, world, &train, &err);
    if (!st)
        st = nni_reps_extract(&p.eval, world, &eval, &err);
    /* A probe's step is about 10^5 multiply-adds: less than what waking a second thread
     * and meeting it at a barrier costs (on a busy machine a barrier can wait for a whole
     * scheduler time slice), so the probes run on one thread. */
    nni_set_threads(1);
    if (!st && world->rank == 0)
        st = run_probes(&p, &train, &eval, &err);
    nni_reps_free(&train);
    nni_reps_free(&eval);
    return st ? nni_cli_report(world, &err) : 0;
}
