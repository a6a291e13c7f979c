/* nntrain ensemble CKPT... [--split S] [--rows A:B] [--combine mean_prob|mean_logit|vote]
 *                 [-o DIR]
 * Each member's accuracy and loss on the rows, and the ensemble's; with -o, DIR/ensemble.csv,
 * the plot DIR/ensemble.svg and the ensemble's probabilities DIR/ensemble.h5. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/files.h"
#include "io/hdf5_util.h"
#include "study/ensemble.h"
#include "study/output.h"
#include "study/plot.h"
#include "study/represent.h"

static const nni_cli_flag ensemble_flags[] = {
    {"split", 0, "NAME", "the dataset split (default: test)"},
    {"rows", 0, "A:B", "rows A to B-1 of the split (default: all)"},
    {"data", 0, "FILE", "another dataset file than the one the configs name"},
    {"combine", 0, "HOW", "mean_prob (default), mean_logit or vote"},
    {"output", 'o', "DIR", "also write CSV, plot and probabilities here (must not exist)"},
    {NULL, 0, NULL, NULL},
};

const nni_cli_spec nni_ensemble_spec = {
    "ensemble", "CKPT CKPT...", "several checkpoints' predictions combined, and each member's",
    2, -1, ensemble_flags};

static nn_status write_probs(const char *path, const double *probs, int64_t rows,
                             int64_t classes, nn_error *err)
{
    nni_atomic_file target;
    nn_status st = nni_atomic_begin(&target, path, err);
    if (st)
        return st;
    nni_h5_quiet quiet = nni_h5_quiet_begin();
    hid_t file = H5Fcreate(target.tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[2] = {(hsize_t)rows, (hsize_t)classes};
    hid_t space = file < 0 ? -1 : H5Screate_simple(2, dims, NULL);
    hid_t d = space < 0 ? -1 : H5Dcreate2(file, "probs", H5T_IEEE_F64LE, space, H5P_DEFAULT,
                                          H5P_DEFAULT, H5P_DEFAULT);
    herr_t s = d < 0 ? -1 : H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, probs);
    nni_h5_close(&d);
    nni_h5_close(&space);
    if (file >= 0 && H5Fclose(file) < 0)
        s = -1;
    nni_h5_quiet_end(quiet);
    if (s < 0) {
        nni_atomic_abort(&target);
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot write the probabilities", path);
    }
    return nni_atomic_commit(&target, err);
}

static nn_status write_outputs(const char *dir, int members, char **names,
                               const double *accuracy, const double *nll, const double *probs,
                               int64_t rows, int64_t classes, const char *method,
                               nn_error *err)
{
    char csv[1100], svg[1100], h5[1100];
    nn_status st = nni_study_path(csv, sizeof csv, dir, "ensemble.csv", err);
    if (!st)
        st = nni_study_path(svg, sizeof svg, dir, "ensemble.svg", err);
    if (!st)
        st = nni_study_path(h5, sizeof h5, dir, "ensemble.h5", err);
    if (!st)
        st = nni_study_new_dir(dir, err);
    char *text = NULL;
    size_t size = 0;
    FILE *f = st ? NULL : open_memstream(&text, &size);
    if (!st && !f)
        st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    if (f) {
        fprintf(f, "model,accuracy,loss\n");
        for (int m = 0; m <= members; m++)
            fprintf(f, "%s,%.6f,%.6f\n", m < members ? names[m] : method, accuracy[m], nll[m]);
        fclose(f);
        st = nni_write_file_atomic(csv, text, size, err);
    }
    free(text);
    if (!st) {
        const char **x = calloc((size_t)members + 1, sizeof *x);
        char label[64];
        snprintf(label, sizeof label, "ensemble (%s)", method);
        for (int m = 0; x && m < members; m++)
            x[m] = names[m];
        if (x)
            x[members] = label;
        const double *series[1] = {accuracy};
        const char *series_names[1] = {"accuracy"};
        double low = 1;
        for (int m = 0; m <= members; m++)
            low = fmin(low, accuracy[m]);
        st = x ? nni_svg_lines(svg, "members and their ensemble", "accuracy", x, members + 1,
                               series, series_names, 1, fmax(0, floor(low * 20 - 1) / 20), err)
               : nn_fail(err, NN_ERR_OTHER, "out of memory");
        free(x);
    }
    if (!st)
        st = write_probs(h5, probs, rows, classes, err);
    if (!st)
        printf("wrote %s, %s and %s\n", csv, svg, h5);
    return st;
}

static nn_status score(char **names, int members, const nni_reps *reps,
                       const nni_ensemble_method *method, const char *dir, nn_error *err)
{
    const nni_reps *first = &reps[0];
    int64_t rows = first->rows, classes = first->width[0];
    double *probs = malloc((size_t)(rows * classes) * sizeof *probs);
    double *accuracy = calloc((size_t)members + 1, sizeof *accuracy);
    double *nll = calloc((size_t)members + 1, sizeof *nll);
    const float **logits = calloc((size_t)members, sizeof *logits);
    nn_status st = probs && accuracy && nll && logits
                       ? NN_OK : nn_fail(err, NN_ERR_OTHER, "out of memory");
    printf("%-50s %9s %9s\n", "model", "accuracy", "loss");
    for (int m = 0; !st && m < members; m++) {
        logits[m] = reps[m].values[0];
        nni_softmax_rows(logits[m], rows, classes, probs);
        nni_ensemble_score(probs, first->labels, rows, classes, &accuracy[m], &nll[m]);
        printf("%-50.50s %9.4f %9.4f\n", names[m], accuracy[m], nll[m]);
    }
    if (!st) {
        nni_ensemble_combine(method, logits, members, rows, classes, probs);
        nni_ensemble_score(probs, first->labels, rows, classes, &accuracy[members],
                           &nll[members]);
        if (!strcmp(nni_ensemble_name(method), "vote"))
            nll[members] = NAN; /* vote shares are not a probability model */
        char label[64];
        snprintf(label, sizeof label, "ensemble (%s)", nni_ensemble_name(method));
        printf("%-50s %9.4f %9.4f\n", label, accuracy[members], nll[members]);
        double best = 0;
        for (int m = 0; m < members; m++)
            best = fmax(best, accuracy[m]);
        printf("the ensemble is %+.2f points against the best member, %d rows of the split\n",
               100 * (accuracy[members] - best), (int)rows);
    }
    if (!st && dir)
        st = write_outputs(dir, members, names, accuracy, nll, probs, rows, classes,
                           nni_ensemble_name(method), err);
    free(probs);
    free(accuracy);
    free(nll);
    free(logits);
    return st;
}

int nni_cmd_ensemble(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nni_cli_args args;
    if (nni_cli_parse(argc, argv, &nni_ensemble_spec, &args, &err))
        return nni_cli_report(world, &err);
    if (args.help)
        return 0;
    const char *combine = nni_cli_value(&args, "combine") ? nni_cli_value(&args, "combine")
                                                          : "mean_prob";
    const char *dir = nni_cli_value(&args, "output");
    const nni_ensemble_method *method = NULL;
    nni_reps_request req = {.split = nni_cli_value(&args, "split") ? nni_cli_value(&args, "split")
                                                                  : "test",
                            .data_path = nni_cli_value(&args, "data"), .layers = NULL};
    int members = args.n_operands;
    nni_reps *reps = calloc((size_t)members, sizeof *reps);
    nn_status st = reps ? NN_OK : nn_fail(&err, NN_ERR_OTHER, "out of memory");
    if (!st)
        st = nni_ensemble_find(combine, &method, &err);
    if (!st && dir)
        st = nni_study_check_absent(dir, &err);
    if (!st)
        st = nni_parse_rows(nni_cli_value(&args, "rows"), &req.row_first, &req.row_end, &err);
    for (int m = 0; !st && m < members; m++) {
        req.checkpoint = args.operands[m];
        st = nni_reps_extract(&req, world, &reps[m], &err);
        if (!st && m > 0)
            st = nni_reps_check_same_samples(&reps[0], args.operands[0], &reps[m],
                                             args.operands[m], &err);
        if (!st && reps[m].width[0] != reps[0].width[0])
            st = nn_fail(&err, NN_ERR_DATA, "%s has %lld outputs, %s has %lld: not the same "
                         "task", args.operands[0], (long long)reps[0].width[0],
                         args.operands[m], (long long)reps[m].width[0]);
    }
    if (!st && !reps[0].labels)
        st = nn_fail(&err, NN_ERR_DATA, "%s: /%s has no class labels to score an ensemble on",
                     reps[0].data_path, req.split);
    if (!st && world->rank == 0)
        st = score(args.operands, members, reps, method, dir, &err);
    for (int m = 0; reps && m < members; m++)
        nni_reps_free(&reps[m]);
    free(reps);
    return st ? nni_cli_report(world, &err) : 0;
}
