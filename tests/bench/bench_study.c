/* bench_study CHECKPOINT [--data FILE] [--probe-layer NAME] [--threads N]: the study
 * commands' speeds on a checkpoint and its dataset's test split (10,000 images for
 * Fashion-MNIST):
 *   extraction of every layer against the forward-only pass of `nntrain eval` (samples/s,
 *     best of three; both include opening the checkpoint and reading the split),
 *   linear CKA on every pair of the extracted layers (best of three),
 *   training one linear probe (10 epochs) on the training split's representation of a
 *   layer (the last hidden one by default), on one thread as `nntrain probe` trains them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/threads.h"
#include "nn/parallel.h"
#include "nn/trainer.h"
#include "study/cka.h"
#include "study/probe.h"
#include "study/represent.h"

static void fail(const nn_error *err)
{
    fprintf(stderr, "bench_study: %s\n", err->msg);
    exit(err->status ? (int)err->status : 1);
}

int main(int argc, char **argv)
{
    const char *ckpt = argc > 1 ? argv[1] : NULL, *probe_layer = NULL, *data = NULL;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--data"))
            data = argv[i + 1];
        else if (!strcmp(argv[i], "--probe-layer"))
            probe_layer = argv[i + 1];
        else if (!strcmp(argv[i], "--threads"))
            nni_set_threads(atoi(argv[i + 1]));
    }
    if (!ckpt) {
        fprintf(stderr, "usage: bench_study CHECKPOINT [--data FILE] [--probe-layer NAME] "
                        "[--threads N]\n");
        return 2;
    }
    nn_comm world;
    nn_error err = {0};
    if (nn_parallel_init(&argc, &argv, &world, &err))
        fail(&err);

    double eval_best = INFINITY, extract_best = INFINITY, cka_best = INFINITY;
    int64_t samples = 0;
    nni_reps reps = {0};
    nni_reps_request req = {.checkpoint = ckpt, .split = "test", .data_path = data,
                            .layers = "all",
                            .row_end = -1};
    for (int round = 0; round < 3; round++) {
        double loss, accuracy, t0 = nni_clock_seconds();
        if (nn_evaluate_checkpoint(ckpt, "test", data, &loss, &accuracy, &samples, &err))
            fail(&err);
        double t1 = nni_clock_seconds();
        nni_reps_free(&reps);
        if (nni_reps_extract(&req, &world, &reps, &err))
            fail(&err);
        double t2 = nni_clock_seconds();
        eval_best = fmin(eval_best, t1 - t0);
        extract_best = fmin(extract_best, t2 - t1);
    }
    int64_t features = 0;
    for (int k = 0; k < reps.n_layers; k++)
        features += reps.width[k];
    printf("threads %d, %lld test samples, %d layers, %lld features in all\n", nni_threads(),
           (long long)samples, reps.n_layers, (long long)features);
    printf("eval (forward only)      %8.0f samples/s  (%.3f s)\n", samples / eval_best,
           eval_best);
    printf("extract, every layer     %8.0f samples/s  (%.3f s)  %.0f%% of eval\n",
           reps.rows / extract_best, extract_best, 100 * eval_best / extract_best);

    double *matrix = malloc((size_t)(reps.n_layers * reps.n_layers) * sizeof *matrix);
    for (int round = 0; round < 3; round++) {
        double t0 = nni_clock_seconds();
        if (nni_cka_reps(&reps, &reps, NNI_CKA_LINEAR, 0, matrix, &err))
            fail(&err);
        cka_best = fmin(cka_best, nni_clock_seconds() - t0);
    }
    printf("linear CKA, all %d x %d layer pairs on %lld rows: %.3f s\n", reps.n_layers,
           reps.n_layers, (long long)reps.rows, cka_best);

    int index = reps.n_layers >= 2 ? reps.n_layers - 2 : 0;
    for (int k = 0; probe_layer && k < reps.n_layers; k++)
        if (!strcmp(reps.names[k], probe_layer))
            index = k;
    char layer[NN_NAME_MAX];
    snprintf(layer, sizeof layer, "%s", reps.names[index]);
    nni_reps train = {0};
    nni_reps_request treq = {.checkpoint = ckpt, .split = "train", .data_path = data,
                             .layers = layer,
                             .row_end = -1};
    if (nni_reps_extract(&treq, &world, &train, &err))
        fail(&err);
    nni_set_threads(1); /* as nntrain probe runs them (src/cli/probe.c) */
    nni_probe_options opts = {.epochs = 10, .batch = 256, .lr = 1e-3, .seed = 1};
    nni_probe_data tr = {train.values[0], train.labels, train.rows};
    nni_probe_data ev = {reps.values[index], reps.labels, reps.rows};
    double train_acc, eval_acc, t0 = nni_clock_seconds();
    if (nni_probe_fit(&tr, &ev, train.width[0], train.num_classes, &opts, &train_acc, &eval_acc,
                      &err))
        fail(&err);
    double probe_time = nni_clock_seconds() - t0;
    printf("probe on %s (%lld features), %lld training rows x 10 epochs: %.2f s "
           "(test accuracy %.4f)\n", layer, (long long)train.width[0], (long long)train.rows,
           probe_time, eval_acc);
    free(matrix);
    nni_reps_free(&reps);
    nni_reps_free(&train);
    nn_parallel_finalize();
    return 0;
}
