/* nntrain reinit RUN_DIR: which layers are critical and which robust (src/study/reinit.h),
 * as a table of accuracy with each layer reset, per checkpoint, and a verdict for the final
 * weights. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/files.h"
#include "study/reinit.h"

static const nni_cli_flag reinit_flags[] = {
    {"layers", 0, "L1,L2,...", "the layers to reset one at a time (default: every layer with "
                               "parameters)"},
    {"to", 0, "initial|random", "reset to the run's initial weights (epoch-000.h5, default) or "
                                "to a fresh random draw"},
    {"epochs", 0, "E1,E2,...", "also study the weights of these epochs (epoch-NNN.h5)"},
    {"split", 0, "NAME", "the split evaluated (default: test)"},
    {"data", 0, "FILE", "another dataset file than the one the run's config names"},
    {"threshold", 0, "POINTS", "a layer is robust when its reset costs at most this many "
                               "points of accuracy (default: 2)"},
    {"output", 'o', "FILE.csv", "also write the table as CSV (checkpoint,epoch,layer,accuracy,"
                                "loss)"},
    {NULL, 0, NULL, NULL},
};

const nni_cli_spec nni_reinit_spec = {
    "reinit", "RUN_DIR",
    "accuracy with each layer reset to its initial weights: critical and robust layers", 1, 1,
    reinit_flags};

enum { MAX_LIST = 64 };

/* Splits "a,b,c" in place into at most MAX_LIST items. */
static int split_list(char *text, char **items)
{
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(text, ",", &save); tok && n < MAX_LIST;
         tok = strtok_r(NULL, ",", &save))
        items[n++] = tok;
    return n;
}

static nn_status parse_epochs(const char *text, int *epochs, int *n, nn_error *err)
{
    char copy[512], *items[MAX_LIST];
    snprintf(copy, sizeof copy, "%s", text);
    *n = split_list(copy, items);
    for (int i = 0; i < *n; i++) {
        char *end = NULL;
        long e = strtol(items[i], &end, 10);
        if (end == items[i] || *end || e < 0 || e > 99999)
            return nn_fail(err, NN_ERR_CONFIG, "reinit: --epochs: '%s' is not an epoch number "
                           "(expected e.g. --epochs 1,2,5)", items[i]);
        epochs[i] = (int)e;
    }
    return NN_OK;
}

static const char *row_name(const nni_reinit_result *r, int row, char *buf, size_t size)
{
    if (row == 0)
        return "(no reset)";
    if (row == r->n_layers + 1)
        return "(all layers)";
    snprintf(buf, size, "%s", r->layer_names[row - 1]);
    return buf;
}

static void print_table(const nni_reinit_plan *plan, const nni_reinit_result *r,
                        double threshold)
{
    printf("reinit %s: %s split (%lld samples), layers reset to %s\n\n", plan->run_dir,
           plan->split, (long long)r->samples,
           plan->to_random ? "a fresh random draw" : "their initial weights (epoch-000.h5)");
    printf("%-20s", "layer");
    for (int c = 0; c < r->n_checkpoints; c++) {
        char head[32];
        if (r->checkpoint_epochs[c] < 0)
            snprintf(head, sizeof head, "final");
        else
            snprintf(head, sizeof head, "epoch %d", r->checkpoint_epochs[c]);
        printf("  %9s", head);
    }
    printf("\n");
    for (int row = 0; row < r->n_layers + 2; row++) {
        char name[64];
        printf("%-20s", row_name(r, row, name, sizeof name));
        for (int c = 0; c < r->n_checkpoints; c++)
            printf("  %9.4f", r->accuracy[nni_reinit_cell(r, c, row)]);
        printf("\n");
    }
    int final = r->n_checkpoints - 1;
    double base = r->accuracy[nni_reinit_cell(r, final, 0)];
    for (int robust = 1; robust >= 0; robust--) {
        printf("%s", robust ? "\nrobust" : "; critical");
        int any = 0;
        for (int k = 0; k < r->n_layers; k++) {
            double cost = 100.0 * (base - r->accuracy[nni_reinit_cell(r, final, k + 1)]);
            if ((cost <= threshold) == robust)
                printf("%s%s", any++ ? ", " : ": ", r->layer_names[k]);
        }
        if (!any)
            printf(": none");
        if (robust)
            printf(" (a reset of the final weights costs at most %g points)", threshold);
    }
    printf("\n");
}

static nn_status write_csv(const char *path, const nni_reinit_result *r, nn_error *err)
{
    size_t size = 64 + (size_t)(r->n_checkpoints * (r->n_layers + 2)) * 128, used = 0;
    char *text = malloc(size);
    if (!text)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    used += (size_t)snprintf(text, size, "checkpoint,epoch,layer,accuracy,loss\n");
    for (int c = 0; c < r->n_checkpoints; c++)
        for (int row = 0; row < r->n_layers + 2; row++) {
            char name[64];
            int cell = nni_reinit_cell(r, c, row);
            int epoch = r->checkpoint_epochs[c];
            used += (size_t)snprintf(text + used, size - used, "%s,%d,%s,%.6f,%.6f\n",
                                     epoch < 0 ? "final" : "epoch", epoch < 0 ? 0 : epoch,
                                     row_name(r, row, name, sizeof name), r->accuracy[cell],
                                     r->loss[cell]);
        }
    nn_status st = nni_write_file_atomic(path, text, used, err);
    free(text);
    return st;
}

int nni_cmd_reinit(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nni_cli_args args;
    if (nni_cli_parse(argc, argv, &nni_reinit_spec, &args, &err))
        return nni_cli_report(world, &err);
    if (args.help)
        return 0;
    nni_reinit_plan plan = {.run_dir = args.operands[0], .split = "test"};
    const char *value;
    if ((value = nni_cli_value(&args, "split")))
        plan.split = value;
    plan.data_path = nni_cli_value(&args, "data");
    if ((value = nni_cli_value(&args, "to"))) {
        if (strcmp(value, "initial") != 0 && strcmp(value, "random") != 0) {
            nn_fail(&err, NN_ERR_CONFIG, "reinit: --to takes initial or random, not '%s'",
                    value);
            return nni_cli_report(world, &err);
        }
        plan.to_random = !strcmp(value, "random");
    }
    char layer_text[1024], *layers[MAX_LIST];
    if ((value = nni_cli_value(&args, "layers"))) {
        snprintf(layer_text, sizeof layer_text, "%s", value);
        plan.n_layers = split_list(layer_text, layers);
        plan.layers = (const char *const *)layers;
    }
    int epochs[MAX_LIST];
    if ((value = nni_cli_value(&args, "epochs")) &&
        parse_epochs(value, epochs, &plan.n_epochs, &err))
        return nni_cli_report(world, &err);
    plan.epochs = epochs;
    double threshold = 2.0;
    if ((value = nni_cli_value(&args, "threshold"))) {
        char *end = NULL;
        threshold = strtod(value, &end);
        if (end == value || *end || !(threshold >= 0)) {
            nn_fail(&err, NN_ERR_CONFIG, "reinit: --threshold takes points of accuracy >= 0, "
                    "not '%s'", value);
            return nni_cli_report(world, &err);
        }
    }
    nni_reinit_result result;
    if (nni_reinit_run(&plan, world, &result, &err))
        return nni_cli_report(world, &err);
    nn_status st = NN_OK;
    if (world->rank == 0) {
        print_table(&plan, &result, threshold);
        const char *csv = nni_cli_value(&args, "output");
        if (csv && !(st = write_csv(csv, &result, &err)))
            printf("wrote %s\n", csv);
    }
    nni_reinit_result_free(&result);
    return st ? nni_cli_report(world, &err) : 0;
}
