/* Training-step benchmark of the example MLP (launch/configs/mlp.yaml), the nntrain side of
 * tests/bench/run_mlp_bench.sh (bench_mlp_torch.py is the PyTorch side).
 *
 *   bench_mlp [--config FILE] [--threads T] [--steps N] [--repeats R] [--warmup W]
 *             [--no-data] [--no-gemm] [--gemm-detail] [--gemm auto|nntrain|openblas]
 *             [--bf16]
 *
 * --gemm picks the backend of the products as train.gemm does (core/gemm_backend.h): the
 * step's and the split GEMM-only ceiling's below.
 *
 * Builds the model, loss and optimizer from the config's `model:` and `train:` sections (an
 * inline copy of the example when no file is given) and times exactly the trainer's step on
 * one synthetic batch: forward, nn_loss_eval with gradient, backward, nn_optim_step. Each
 * repeat times N steps; samples/s is the median over repeats.
 *
 * Also measured:
 *  - the GEMM-only ceiling: the step's own matrix products (forward x W^T for every dense
 *    layer, dW = dy^T x for every dense layer, dx = dy W for all but the first), on the
 *    model's own buffers, with dense.c's shapes, products (core/gemm.h) and split over
 *    threads (one OpenMP team per layer and pass, each thread on its share), and nothing
 *    else (--gemm-detail also times each call alone); each repeat of steps is followed by
 *    as many runs of the GEMMs, so the two meet the same load on a shared machine. Also the
 *    same products unsplit through cblas_sgemm, threaded by OpenBLAS itself (the usual way
 *    to use more cores: what the threads would give without nntrain's own products);
 *  - the step with the batch gathered from an in-memory uint8 dataset (nni_dataset_gather_x
 *    over a shuffled order, as the trainer fetches it);
 *  - peak RSS (getrusage) after the step benchmark, before the dataset exists;
 *  - time to first step, from BENCH_T0 (wall-clock seconds, set by the caller just before
 *    starting this process) to the end of the first step.
 *
 * --bf16 runs the dense products in bf16 (train.precision: bf16, nn_model_use_bf16).
 *
 * The last line is machine-readable: "RESULT key=value ...". */
#define _GNU_SOURCE
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/clock.h"
#include "core/gemm.h"
#include "core/gemm_backend.h"
#include "layers/layer_internal.h"
#include "nn/config.h"
#include "nn/data.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "nn/optim.h"

#include "core/threads.h"
#include "data/gather.h"

extern void openblas_set_num_threads(int num_threads);

/* The model and training sections of launch/configs/mlp.yaml. */
static const char default_config[] =
    "model:\n"
    "  input: [1, 28, 28]\n"
    "  init: glorot_uniform\n"
    "  layers:\n"
    "    - {name: fc1, type: dense, units: 256, activation: relu}\n"
    "    - {name: fc2, type: dense, units: 128, activation: relu}\n"
    "    - {name: fc3, type: dense, units: 64, activation: relu}\n"
    "    - {name: fc4, type: dense, units: 10}\n"
    "train:\n"
    "  batch_size: 128\n"
    "  loss: cross_entropy\n"
    "  optimizer: {type: adam, lr: 0.001}\n"
    "seed: 42\n";

enum { NUM_CLASSES = 10, DATA_ROWS = 8192, MAX_REPEATS = 64 };

/* CPU time of the whole process: unlike wall time it does not count the time other work on
 * a shared machine holds the core, which makes 1-core runs comparable on a busy machine. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* xorshift64*: synthetic data only. */
static uint64_t next_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1DULL;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* KiB on Linux */
}

typedef struct bench {
    nn_model *model;
    nn_loss *loss;
    nn_optim *opt;
    double lr;
    int64_t batch;
    int32_t *labels;
    nn_targets targets;
    double phase[4]; /* forward, loss, backward, optimizer: seconds summed over timed steps */
} bench;

/* The trainer's step (src/train/trainer.c train_step) without fetching, the single-rank
 * gradient sum (a no-op) and the accuracy count. */
static double step(bench *b, int timed)
{
    nn_pass pass = {.batch = b->batch, .training = 1, .seed = 42};
    double t0 = timed ? nni_clock_seconds() : 0;
    nn_model_forward(b->model, &pass);
    double t1 = timed ? nni_clock_seconds() : 0;
    double loss = nn_loss_eval(b->loss, b->model->output->out, &b->targets, b->batch,
                               1.0f / (float)b->batch, b->model->output->dout);
    double t2 = timed ? nni_clock_seconds() : 0;
    nn_model_backward(b->model, &pass);
    double t3 = timed ? nni_clock_seconds() : 0;
    nn_optim_step(b->opt, b->model, b->lr);
    if (timed) {
        double t4 = nni_clock_seconds();
        b->phase[0] += t1 - t0;
        b->phase[1] += t2 - t1;
        b->phase[2] += t3 - t2;
        b->phase[3] += t4 - t3;
    }
    return loss;
}

/* The matrix products of one step, as src/layers/dense.c issues them, on the model's own
 * buffers: forward for every dense layer, then in reverse order dW and (when the input
 * takes a gradient) dx, described in cblas terms. Calls with the same `team` run in one
 * OpenMP team, each thread on its share of C's rows (SPLIT_ROWS) or columns
 * (SPLIT_COLUMNS) through the layer's own products, as the layer splits them; unsplit, they
 * go to cblas_sgemm. */
typedef enum { SPLIT_ROWS, SPLIT_COLUMNS } gemm_split;

typedef struct gemm_call {
    char what[80];
    int team;
    gemm_split split;
    CBLAS_TRANSPOSE ta, tb;
    int m, n, k, lda, ldb, ldc;
    const float *a, *b;
    float *c;
    float beta;
} gemm_call;

enum { MAX_GEMMS = 64, DENSE_MIN_PARALLEL_WORK = 1 << 15 /* as in dense.c */ };

static int step_gemms(const nn_model *model, int threads, gemm_call *calls)
{
    int count = 0, team = 0;
    const int n = (int)model->capacity;
    for (int pass = 0; pass < 2; pass++) {
        for (int j = 1; j < model->n_layers; j++) {
            const nn_layer *l = model->layers[pass == 0 ? j : model->n_layers - j];
            if (strcmp(l->ops->type, "dense") != 0 || count + 2 >= MAX_GEMMS)
                continue;
            const nn_param *w = &model->params[l->param_ids[0]];
            const int out = (int)w->dims[0], in = (int)w->dims[1];
            team++;
            if (pass == 0) {
                calls[count++] = (gemm_call){"", team, threads > 1 && out > n ? SPLIT_COLUMNS
                                                                             : SPLIT_ROWS,
                                             CblasNoTrans, CblasTrans, n, out, in, in, in,
                                             out, l->inputs[0]->out, nni_layer_param(l, 0),
                                             l->out, 1.0f};
                snprintf(calls[count - 1].what, sizeof calls->what, "%s forward", l->name);
                continue;
            }
            calls[count++] = (gemm_call){"", team, SPLIT_ROWS, CblasTrans, CblasNoTrans, out,
                                         in, n, out, in, in, l->dout, l->inputs[0]->out,
                                         nni_layer_grad(l, 0), 0.0f};
            snprintf(calls[count - 1].what, sizeof calls->what, "%s dW", l->name);
            if (l->inputs[0]->dout) {
                calls[count++] = (gemm_call){"", team, SPLIT_ROWS, CblasNoTrans, CblasNoTrans,
                                             n, in, out, out, in, in, l->dout,
                                             nni_layer_param(l, 0), l->inputs[0]->dout, 0.0f};
                snprintf(calls[count - 1].what, sizeof calls->what, "%s dx", l->name);
            }
        }
    }
    return count;
}

/* Thread t's share of one call: rows of C take rows of op(A), columns take rows of op(B). */
static void run_share(const gemm_call *g, int t, int threads)
{
    int64_t first, end;
    const float *a = g->a, *b = g->b;
    float *c = g->c;
    int m = g->m, n = g->n;
    if (g->split == SPLIT_ROWS) {
        nni_thread_share(g->m, t, threads, &first, &end);
        a += g->ta == CblasNoTrans ? first * g->lda : first;
        c += first * g->ldc;
        m = (int)(end - first);
    } else {
        nni_thread_share(g->n, t, threads, &first, &end);
        b += g->tb == CblasTrans ? first * g->ldb : first;
        c += first;
        n = (int)(end - first);
    }
    if (m <= 0 || n <= 0)
        return;
    /* The layer's own products (core/gemm.h): x W^T, dy^T x and dy W. */
    if (g->tb == CblasTrans)
        nni_gemm_nt(m, n, g->k, a, g->lda, b, g->ldb, c, g->ldc, g->beta != 0);
    else if (g->ta == CblasTrans)
        nni_gemm_nn(m, n, g->k, a, 1, g->lda, b, g->ldb, c, g->ldc, g->beta != 0);
    else
        nni_gemm_nn(m, n, g->k, a, g->lda, 1, b, g->ldb, c, g->ldc, g->beta != 0);
}

/* Runs calls[0..count) split over `threads` as the layers split them; threads = 0 runs each
 * call whole, with OpenBLAS threading it. */
static void run_gemms(const gemm_call *calls, int count, int threads)
{
    if (threads == 0) {
        for (int i = 0; i < count; i++) {
            const gemm_call *g = &calls[i];
            cblas_sgemm(CblasRowMajor, g->ta, g->tb, g->m, g->n, g->k, 1.0f, g->a, g->lda,
                        g->b, g->ldb, g->beta, g->c, g->ldc);
        }
        return;
    }
    for (int first = 0, end; first < count; first = end) {
        for (end = first + 1; end < count && calls[end].team == calls[first].team; end++)
            ;
        int team_threads = threads;
        if ((int64_t)calls[first].m * calls[first].n * calls[first].k < DENSE_MIN_PARALLEL_WORK)
            team_threads = 1;
#pragma omp parallel num_threads(team_threads) if (team_threads > 1)
        for (int i = first; i < end; i++)
            run_share(&calls[i], omp_get_thread_num(), team_threads);
    }
}

/* Median milliseconds per run of calls[0..count), over `repeats` timings of `reps` runs. */
static double time_gemms(const gemm_call *calls, int count, int threads, int reps, int repeats,
                         int warmup)
{
    for (int i = 0; i < warmup; i++)
        run_gemms(calls, count, threads);
    double times[MAX_REPEATS];
    for (int r = 0; r < repeats; r++) {
        double t = nni_clock_seconds();
        for (int i = 0; i < reps; i++)
            run_gemms(calls, count, threads);
        times[r] = 1e3 * (nni_clock_seconds() - t) / reps;
    }
    return median(times, repeats);
}

/* The same calls unsplit, with OpenBLAS running them on `threads` threads of its own:
 * milliseconds per run of all of them, over `reps` runs. */
static double time_gemms_openblas(const gemm_call *calls, int count, int threads, int reps)
{
    openblas_set_num_threads(threads);
    double t = nni_clock_seconds();
    for (int i = 0; i < reps; i++)
        run_gemms(calls, count, 0);
    double ms = 1e3 * (nni_clock_seconds() - t) / reps;
    nni_set_threads(threads); /* OpenBLAS back to one thread */
    return ms;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_mlp [--config FILE] [--threads T] [--steps N] "
                    "[--repeats R] [--warmup W] [--no-data] [--no-gemm] [--gemm-detail] "
                    "[--gemm auto|nntrain|openblas] [--bf16]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    int threads = 1, steps = 200, repeats = 7, warmup = 50, with_data = 1, with_gemm = 1;
    int gemm_detail = 0, backend = -1, bf16 = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--bf16"))
            bf16 = 1;
        else if (!strcmp(a, "--no-data"))
            with_data = 0;
        else if (!strcmp(a, "--no-gemm"))
            with_gemm = 0;
        else if (!strcmp(a, "--gemm-detail"))
            gemm_detail = 1;
        else if (i + 1 >= argc)
            return usage();
        else if (!strcmp(a, "--config"))
            config_path = argv[++i];
        else if (!strcmp(a, "--threads"))
            threads = atoi(argv[++i]);
        else if (!strcmp(a, "--steps"))
            steps = atoi(argv[++i]);
        else if (!strcmp(a, "--repeats"))
            repeats = atoi(argv[++i]);
        else if (!strcmp(a, "--warmup"))
            warmup = atoi(argv[++i]);
        else if (!strcmp(a, "--gemm")) {
            const char *name = argv[++i];
            for (int c = 0; nni_gemm_choices[c]; c++)
                if (!strcmp(name, nni_gemm_choices[c]))
                    backend = c;
            if (backend < 0)
                return usage();
        } else
            return usage();
    }
    if (threads < 1 || steps < 1 || repeats < 1 || repeats > MAX_REPEATS || warmup < 0)
        return usage();
    const char *t0_text = getenv("BENCH_T0");
    double process_t0 = t0_text ? atof(t0_text) : wall_now();

    nni_set_threads(threads);
    nni_gemm_backend_choose(backend < 0 ? NNI_GEMM_AUTO : backend);
    char gemm_text[160];
    nni_gemm_backend_describe(gemm_text, sizeof gemm_text);
    printf("gemm: %s\n", gemm_text);
    nn_error err = {0};
    nn_cfg *cfg = NULL;
    nn_status st = config_path ? nn_cfg_load_file(config_path, &cfg, &err)
                               : nn_cfg_load_string(default_config, "mlp", &cfg, &err);
    const nn_cfg *train = cfg ? nn_cfg_get(cfg, "train") : NULL;
    int64_t batch = 128, seed = 42;
    bench b = {0};
    if (!st)
        st = nn_cfg_read_int(train, "batch_size", 128, &batch, &err);
    if (!st)
        st = nn_cfg_read_int(cfg, "seed", 42, &seed, &err);
    if (!st)
        st = nn_model_build(nn_cfg_get(cfg, "model"), batch, (uint64_t)seed, 0, &b.model, &err);
    if (!st && bf16)
        st = nn_model_use_bf16(b.model, threads, &err);
    if (!st)
        st = nn_loss_build(nn_cfg_get(train, "loss"), nn_model_output_size(b.model), 1, 1,
                           NUM_CLASSES, &b.loss, &err);
    if (!st)
        st = nn_optim_build(nn_cfg_get(train, "optimizer"), b.model, &b.opt, &err);
    if (st) {
        fprintf(stderr, "bench_mlp: %s\n", err.msg);
        return 1;
    }
    b.lr = nn_optim_base_lr(b.opt);
    b.batch = batch;

    /* Synthetic batch: uint8-like values scaled to [0, 1], labels uniform over the classes. */
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    const int64_t features = nn_model_input_size(b.model);
    float *x = nn_model_input(b.model);
    for (int64_t i = 0; i < batch * features; i++)
        x[i] = (float)(next_random(&rng) % 256) / 255.0f;
    b.labels = malloc((size_t)batch * sizeof *b.labels);
    for (int64_t r = 0; r < batch; r++)
        b.labels[r] = (int32_t)(next_random(&rng) % NUM_CLASSES);
    b.targets = (nn_targets){.labels = b.labels, .width = 1};

    double first_loss = step(&b, 0);
    double first_step_s = wall_now() - process_t0;
    for (int i = 1; i < warmup; i++)
        step(&b, 0);

    /* Repeats of N steps, each followed by N runs of the step's GEMMs alone split as the
     * layers split them, so that the two are measured in the same spell of a shared machine
     * (its capacity changes over seconds: on a virtual machine the second core may be shared
     * with other guests) and their ratio is taken within each repeat. The unsplit GEMMs,
     * threaded by OpenBLAS, are timed after all repeats: OpenBLAS's worker threads keep
     * spinning for a while after a call and would slow down whatever runs next. */
    gemm_call calls[MAX_GEMMS];
    const int n_calls = step_gemms(b.model, threads, calls);
    for (int i = 0; with_gemm && i < warmup; i++)
        run_gemms(calls, n_calls, threads);
    double rates[MAX_REPEATS], cpu_rates[MAX_REPEATS], gemm_times[MAX_REPEATS];
    double gemm_cpu_times[MAX_REPEATS], openblas_times[MAX_REPEATS], ratios[MAX_REPEATS];
    double cpu_ratios[MAX_REPEATS];
    for (int r = 0; r < repeats; r++) {
        double t = nni_clock_seconds(), c = cpu_now();
        for (int i = 0; i < steps; i++)
            step(&b, 1);
        rates[r] = (double)(steps * batch) / (nni_clock_seconds() - t);
        cpu_rates[r] = (double)(steps * batch) / (cpu_now() - c);
        if (!with_gemm)
            continue;
        t = nni_clock_seconds();
        c = cpu_now();
        for (int i = 0; i < steps; i++)
            run_gemms(calls, n_calls, threads);
        gemm_times[r] = 1e3 * (nni_clock_seconds() - t) / steps;
        gemm_cpu_times[r] = 1e3 * (cpu_now() - c) / steps;
        cpu_ratios[r] = 1e3 * batch / cpu_rates[r] / gemm_cpu_times[r];
    }
    double openblas_ms = NAN, gemm_ratio = NAN, gemm_cpu_ratio = NAN;
    if (with_gemm) {
        time_gemms_openblas(calls, n_calls, threads, warmup);
        for (int r = 0; r < repeats; r++)
            openblas_times[r] = time_gemms_openblas(calls, n_calls, threads, steps);
        openblas_ms = median(openblas_times, repeats);
        for (int r = 0; r < repeats; r++)
            ratios[r] = 1e3 * batch / rates[r] / fmin(gemm_times[r], openblas_ms);
        gemm_ratio = median(ratios, repeats);
        gemm_cpu_ratio = median(cpu_ratios, repeats);
    }
    double total_steps = (double)steps * repeats;
    double rate = median(rates, repeats), cpu_rate = median(cpu_rates, repeats);
    double gemm_ms = with_gemm ? median(gemm_times, repeats) : NAN;
    double last_loss = step(&b, 0); /* the GEMMs alone overwrote activations: recompute */
    double rss = peak_rss_mib();

    if (gemm_detail) {
        printf("GEMMs of one step (row-major, C = op(A) op(B)), %d thread(s):\n", threads);
        for (int i = 0; i < n_calls; i++) {
            const gemm_call *g = &calls[i];
            double ms = time_gemms(g, 1, threads, steps, repeats, warmup);
            printf("  %-14s %c%c m=%-4d n=%-4d k=%-4d %8.4f ms %6.1f GFLOP/s\n", g->what,
                   g->ta == CblasTrans ? 'T' : 'N', g->tb == CblasTrans ? 'T' : 'N', g->m,
                   g->n, g->k, ms, 2.0 * g->m * g->n * g->k / (ms * 1e6));
        }
    }

    /* The step with the batch gathered from an in-memory uint8 dataset. */
    double data_rate = NAN;
    if (with_data) {
        nn_dataset ds = {.n = DATA_ROWS, .rows_in_file = DATA_ROWS, .sample_ndim = 1,
                         .sample_shape = {features}, .sample_size = features, .x_is_uint8 = 1,
                         .scale = 1.0f / 255.0f, .target_kind = NN_TARGET_LABELS,
                         .target_width = 1, .num_classes = NUM_CLASSES};
        ds.x_u8 = malloc((size_t)(DATA_ROWS * features));
        ds.labels = malloc(DATA_ROWS * sizeof *ds.labels);
        int64_t *order = malloc(DATA_ROWS * sizeof *order);
        for (int64_t i = 0; i < DATA_ROWS * features; i++)
            ds.x_u8[i] = (uint8_t)next_random(&rng);
        for (int64_t i = 0; i < DATA_ROWS; i++) {
            ds.labels[i] = (int32_t)(next_random(&rng) % NUM_CLASSES);
            order[i] = i;
        }
        for (int64_t i = DATA_ROWS - 1; i > 0; i--) {
            int64_t j = (int64_t)(next_random(&rng) % (uint64_t)(i + 1));
            int64_t tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        const int64_t batches = DATA_ROWS / batch;
        int64_t next = 0;
        double rates_data[MAX_REPEATS];
        for (int r = -1; r < repeats; r++) { /* r = -1: warm-up */
            double t = nni_clock_seconds();
            int n = r < 0 ? warmup : steps;
            for (int i = 0; i < n; i++, next = (next + 1) % batches) {
                const int64_t *rows = order + next * batch;
                nni_dataset_gather_x(&ds, rows, batch, x);
                for (int64_t k = 0; k < batch; k++)
                    b.labels[k] = ds.labels[rows[k]];
                step(&b, 0);
            }
            if (r >= 0)
                rates_data[r] = (double)(steps * batch) / (nni_clock_seconds() - t);
        }
        data_rate = median(rates_data, repeats);
        free(order);
        nn_dataset_free(&ds);
    }

    double step_ms = 1e3 * batch / rate;
    printf("nntrain MLP step: batch %lld, %d thread(s), %d x %d steps\n", (long long)batch,
           threads, repeats, steps);
    printf("  samples/s            %10.0f  (median; min %.0f, max %.0f)\n", rate, rates[0],
           rates[repeats - 1]);
    printf("  samples/CPU-second   %10.0f  (median; CPU time of all threads)\n", cpu_rate);
    printf("  step                 %10.3f ms\n", step_ms);
    printf("    forward            %10.3f ms\n", 1e3 * b.phase[0] / total_steps);
    printf("    loss               %10.3f ms\n", 1e3 * b.phase[1] / total_steps);
    printf("    backward           %10.3f ms\n", 1e3 * b.phase[2] / total_steps);
    printf("    optimizer          %10.3f ms\n", 1e3 * b.phase[3] / total_steps);
    printf("  GEMM-only            %10.3f ms  split as the layers split them\n", gemm_ms);
    printf("  GEMM-only, unsplit   %10.3f ms  (OpenBLAS threading each call itself)\n",
           openblas_ms);
    printf("  step / GEMM-only     %10.2f  (median over repeats of the step time over the faster "
           "GEMM-only time of the same repeat; in CPU time %.2f)\n", gemm_ratio, gemm_cpu_ratio);
    printf("  with data gather     %10.0f samples/s\n", data_rate);
    printf("  peak RSS             %10.1f MiB\n", rss);
    printf("  time to first step   %10.3f s%s\n", first_step_s,
           t0_text ? "" : " (from main; set BENCH_T0 to count process start)");
    printf("  loss first/last      %10.4f / %.4f\n", first_loss / (double)batch,
           last_loss / (double)batch);
    printf("RESULT samples_per_s=%.1f best_samples_per_s=%.1f cpu_samples_per_s=%.1f "
           "step_ms=%.4f gemm_ms=%.4f gemm_cpu_ratio=%.4f forward_ms=%.4f loss_ms=%.4f "
           "backward_ms=%.4f optim_ms=%.4f data_samples_per_s=%.1f rss_mib=%.1f "
           "first_step_s=%.4f gemm_openblas_ms=%.4f gemm_ratio=%.4f\n",
           rate, rates[repeats - 1], cpu_rate, step_ms, gemm_ms, gemm_cpu_ratio, 1e3 * b.phase[0] / total_steps,
           1e3 * b.phase[1] / total_steps, 1e3 * b.phase[2] / total_steps,
           1e3 * b.phase[3] / total_steps, data_rate, rss, first_step_s, openblas_ms, gemm_ratio);

    free(b.labels);
    nn_optim_free(b.opt);
    nn_loss_free(b.loss);
    nn_model_free(b.model);
    nn_cfg_free(cfg);
    return 0;
}
