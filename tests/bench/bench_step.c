/* Training-step benchmark: builds the model of a config at its batch size, runs
 * forward + loss + backward + optimizer step on random data and reports samples/s and
 * where the time goes, layer by layer, and how much the wall time of one step varies: the
 * slower of two ranks' steps is what a synchronous data-parallel step waits for. For the
 * convolution and dense layers it prints the GFLOP/s of their products (multiply-adds of
 * the forward; weight and input gradients in backward) per CPU-second of their fastest
 * step, and that as a share of the FMA peak it measures first (one thread, CPU time, so
 * that other load on the machine lowers both alike). For each convolution it then times the
 * two halves of backward on their own (input gradient with the parameters frozen, weight and
 * bias gradients without the input's) and prints the three products' GFLOP/s and share of
 * the peak. It also sums the time inside all the matrix products (core/product_time.h): the
 * part of the step that faster or bf16 products can shorten, and so the most they can gain.
 * Not a test (no assertions on time).
 *
 *   bench_step CONFIG.yaml [--threads N] [--seconds S] [--batch B]
 *              [--gemm auto|nntrain|openblas] [--precision bf16] [--unit U]
 *              [--winograd true|false]
 * --gemm picks the products' backend (default: the config's train.gemm, else auto);
 * --winograd false times the 3x3 convolutions' direct products (train.winograd).
 * --unit U runs backward as train.reproducible: bitwise does, each unit of U samples writing
 * its parameter gradients into its own slot (nn_pass.unit_rows), or for dense layers the
 * nodes of the units' tree (nn_pass.unit_nodes), so that the layers' share of that mode's
 * cost shows beside the default's, and then finishes the tree into the gradients as one
 * rank does (train/reproducible.c), timed on its own line: a layer that writes its slots
 * faster but leaves them colder for the sum shows there. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/bf16_rate.h"
#include "core/gemm.h"
#include "core/gemm_backend.h"
#include "core/gemm_bf16.h"
#include "core/kernel_set.h"
#include "core/product_time.h"
#include "core/rng.h"
#include "core/threads.h"
#include "fma_peak.h"
#include "layers/layer_internal.h"
#include "model/model_internal.h"
#include "nn/config.h"
#include "parallel/unit_tree.h"
#include "nn/loss.h"
#include "nn/model.h"
#include "nn/optim.h"

/* Per-layer times are CPU time of the process (all threads), the least of all steps, which
 * other load on the machine inflates least; the step rate is wall time. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* GFLOP/s per CPU-second of one thread's FMA loop, the best of three half-second runs. */
static double measured_peak(const char **isa)
{
    int lanes = 1;
    const fma_loop loop = fma_widest(&lanes, isa);
    const long rounds = fma_calibrate(loop, 0.5);
    volatile float sink = 0;
    double best = 0;
    for (int repeat = 0; repeat < 3; repeat++) {
        double t = now();
        sink += loop(rounds);
        t = now() - t;
        const double gflops = 2.0 * lanes * ACCUMULATORS * INNER * (double)rounds / t / 1e9;
        best = gflops > best ? gflops : best;
    }
    return sink == 12345.0f ? 0 : best;
}

/* Flops of a layer's products in forward and backward (0: not a product layer). */
static void product_flops(const nn_layer *layer, int64_t batch, double *fwd, double *bwd)
{
    *fwd = *bwd = 0;
    if (strcmp(layer->ops->type, "conv2d") && strcmp(layer->ops->type, "dense"))
        return;
    *fwd = (double)layer->ops->flops(layer) * (double)batch;
    *bwd = *fwd * (layer->inputs[0]->dout ? 2 : 1);
}

static int compare_doubles(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts the step times and prints their spread, and by how much the slower of two steps
 * drawn independently from them exceeds the mean: the i-th fastest of n is the slower of
 * two draws with probability (2i + 1) / n^2. */
static void print_step_spread(double *step_times, int n)
{
    qsort(step_times, (size_t)n, sizeof *step_times, compare_doubles);
    double mean = 0, slower_of_two = 0;
    for (int i = 0; i < n; i++) {
        mean += step_times[i] / n;
        slower_of_two += step_times[i] * (2.0 * i + 1) / ((double)n * n);
    }
    printf("step wall time over %d steps: min %.2f, p50 %.2f, p90 %.2f, p99 %.2f ms; the "
           "slower of two independent steps is %.1f%% above the mean\n", n, 1e3 * step_times[0],
           1e3 * step_times[n / 2], 1e3 * step_times[n * 9 / 10], 1e3 * step_times[n * 99 / 100],
           100 * (slower_of_two - mean) / mean);
}

/* The least CPU time of `repeats` backward calls of one layer. */
static double least_backward(nn_layer *layer, const nn_pass *pass, int repeats)
{
    double best = 1e30;
    for (int r = 0; r < repeats; r++) {
        double t = now();
        layer->ops->backward(layer, pass);
        t = now() - t;
        best = t < best ? t : best;
    }
    return best;
}

/* Forward, input-gradient and weight-gradient products of every convolution with both
 * gradients, each timed alone: the input gradient with the parameters frozen, the weight
 * gradient (with the bias's, a row sum) with the input's gradient switched off. */
static void print_conv_products(nn_model *model, const nn_pass *pass, const double *fwd_min,
                                double peak)
{
    printf("%-22s %9s %6s %9s %6s %9s %6s  (convolutions: GF/s per CPU-second, %% of peak)\n",
           "conv layer", "fwd GF/s", "%pk", "dx GF/s", "%pk", "dW GF/s", "%pk");
    for (int i = 1; i < model->n_layers; i++) {
        nn_layer *layer = model->layers[i];
        if (strcmp(layer->ops->type, "conv2d") || !layer->dout || !layer->inputs[0]->dout)
            continue;
        double flops, unused;
        product_flops(layer, pass->batch, &flops, &unused);
        int frozen[8] = {0};
        const int np = layer->n_params < 8 ? layer->n_params : 8;
        for (int k = 0; k < np; k++) {
            frozen[k] = model->params[layer->param_ids[k]].frozen;
            model->params[layer->param_ids[k]].frozen = 1;
        }
        const double t_dx = least_backward(layer, pass, 5);
        for (int k = 0; k < np; k++)
            model->params[layer->param_ids[k]].frozen = frozen[k];
        float *dx = layer->inputs[0]->dout;
        layer->inputs[0]->dout = NULL;
        const double t_dw = least_backward(layer, pass, 5);
        layer->inputs[0]->dout = dx;
        const double gf = flops / fwd_min[i] / 1e9, gx = flops / t_dx / 1e9,
                     gw = flops / t_dw / 1e9;
        printf("%-22s %9.1f %5.0f%% %9.1f %5.0f%% %9.1f %5.0f%%\n", layer->name, gf,
               100 * gf / peak, gx, 100 * gx / peak, gw, 100 * gw / peak);
    }
}

/* The units' gradients summed in the unit tree's order into slot 0, a chunk of each tensor
 * at a time, as train/reproducible.c does on one rank: from the slots, or from the nodes
 * (cover) a layer wrote itself. */
static void sum_units(const nn_model *model, const nn_pass *pass, float *slots,
                      nni_tree_sum *cover, nni_tree_sum *tree)
{
    const int64_t stride = pass->unit_stride;
    nni_tree_sum_start(cover);
    for (int64_t j = 0; j < pass->units_total; j++)
        nni_tree_sum_push(cover, (nni_tree_node){.first = j}, NULL);
    for (int k = 0; k < model->n_params; k++) {
        const nn_param *p = &model->params[k];
        if (p->flags & NN_PARAM_STATE)
            continue;
        for (int64_t c = 0; c < p->size; c += 1024) {
            const int64_t at = p->offset + c, len = p->size - c < 1024 ? p->size - c : 1024;
            tree->len = len;
            nni_tree_sum_start(tree);
            if (pass->unit_fused[k])
                for (int n = 0; n < cover->depth; n++)
                    nni_tree_sum_push(tree, cover->node[n], pass->unit_nodes + n * stride + at);
            else
                for (int64_t j = 0; j < pass->units_total; j++)
                    nni_tree_sum_push(tree, (nni_tree_node){.first = j},
                                      slots + (j + 1) * stride + at);
            nni_tree_sum_finish(tree, slots + at);
        }
    }
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_step CONFIG.yaml [--threads N] [--seconds S] "
                        "[--batch B] [--gemm auto|nntrain|openblas] [--precision bf16] "
                        "[--unit U] [--winograd true|false]\n");
        return 2;
    }
    int threads = 1;
    double seconds = 3;
    int64_t batch = 0;
    const char *gemm = NULL;
    int bf16 = 0;
    int64_t unit = 0;
    int winograd = 1;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch"))
            batch = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--gemm"))
            gemm = argv[i + 1];
        else if (!strcmp(argv[i], "--precision"))
            bf16 = !strcmp(argv[i + 1], "bf16");
        else if (!strcmp(argv[i], "--unit"))
            unit = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--winograd"))
            winograd = strcmp(argv[i + 1], "false") != 0;
    }
    nni_set_threads(threads);
    nn_error err = {0};
    nn_cfg *cfg = NULL;
    if (nn_cfg_load_file(argv[1], &cfg, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const nn_cfg *train = nn_cfg_get(cfg, "train");
    int backend = NNI_GEMM_AUTO;
    char assignment[64];
    snprintf(assignment, sizeof assignment, "train.gemm=%s", gemm ? gemm : "");
    if (gemm && nn_cfg_set(cfg, assignment, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    if (nn_cfg_read_choice(nn_cfg_get(cfg, "train"), "gemm", nni_gemm_choices, "auto",
                           &backend, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    train = nn_cfg_get(cfg, "train");
    nni_gemm_backend_choose(backend);
    if (!batch)
        nn_cfg_read_int(train, "batch_size", 32, &batch, &err);
    nn_model *model = NULL;
    nn_loss *loss = NULL;
    nn_optim *opt = NULL;
    if (nn_model_build(nn_cfg_get(cfg, "model"), batch, 1, 0, &model, &err) ||
        nn_loss_build(nn_cfg_get(train, "loss"), nn_model_output_size(model), 1, 1,
                      (int)nn_model_output_size(model), &loss, &err) ||
        nn_optim_build(nn_cfg_get(train, "optimizer"), model, &opt, &err) ||
        (bf16 && nn_model_use_bf16(model, threads, &err))) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int config_winograd = 1;
    nn_cfg_read_bool(train, "winograd", 1, &config_winograd, &err);
    model->direct_conv = !(winograd && config_winograd);
    nni_rng rng = nni_rng_stream(1, NNI_RNG_NOISE, 0, 0, 0);
    float *x = nn_model_input(model);
    for (int64_t i = 0; i < batch * nn_model_input_size(model); i++)
        x[i] = nni_rng_uniform(&rng);
    int32_t *labels = malloc((size_t)batch * sizeof *labels);
    int64_t *ids = malloc((size_t)batch * sizeof *ids);
    for (int64_t i = 0; i < batch; i++) {
        labels[i] = (int32_t)(i % nn_model_output_size(model));
        ids[i] = i;
    }
    nn_targets targets = {.labels = labels, .width = 1};
    nn_pass pass = {.batch = batch, .training = 1, .seed = 1, .sample_ids = ids};
    float *unit_slots = NULL;
    int64_t *unit_ids = NULL;
    nni_tree_sum tree = {0}, cover = {0};
    if (unit > 0) {
        /* Slot 0 as the trainer's sum, then one slot per unit (train/reproducible.c). */
        const int64_t units = (batch + unit - 1) / unit;
        const int64_t stride = (model->n_param_floats + NN_GRAD_ROOM + 15) / 16 * 16;
        unit_slots = aligned_alloc(64, (size_t)((units + 1) * stride) * sizeof *unit_slots);
        if (!unit_slots) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        memset(unit_slots, 0, (size_t)((units + 1) * stride) * sizeof *unit_slots);
        nni_model_use_grads(model, unit_slots);
        pass.unit_rows = unit;
        pass.unit_slot = 1;
        pass.unit_stride = stride;
        pass.units_total = units;
        /* One rank's units: their cover is the top of the tree, 64 nodes at most. */
        unit_ids = malloc((size_t)units * sizeof *unit_ids);
        pass.unit_nodes = aligned_alloc(64, (size_t)(64 * stride) * sizeof *pass.unit_nodes);
        pass.unit_fused = calloc((size_t)model->n_params, sizeof *pass.unit_fused);
        if (!unit_ids || !pass.unit_nodes || !pass.unit_fused ||
            !nni_tree_sum_alloc(&tree, 66, 1024) || !nni_tree_sum_alloc(&cover, 66, 0)) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        for (int64_t j = 0; j < units; j++)
            unit_ids[j] = j;
        pass.unit_ids = unit_ids;
    }
    const int n = model->n_layers;
    double *fwd = calloc((size_t)n, sizeof *fwd), *bwd = calloc((size_t)n, sizeof *bwd);
    double *fwd_min = malloc((size_t)n * sizeof *fwd_min);
    double *bwd_min = malloc((size_t)n * sizeof *bwd_min);
    for (int i = 0; i < n; i++)
        fwd_min[i] = bwd_min[i] = 1e30;
    double loss_time = 0, optim_time = 0, sum_time = 0, sum_min = 1e30, step_min = 1e30;
    int steps = 0, step_capacity = 1024;
    double start = 0, start_wall = 0;
    double *step_times = malloc((size_t)step_capacity * sizeof *step_times);
    if (!step_times) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (;;) {
        if (steps == 2) {
            start = now();
            start_wall = wall();
            memset(fwd, 0, (size_t)n * sizeof *fwd);
            memset(bwd, 0, (size_t)n * sizeof *bwd);
            loss_time = optim_time = sum_time = 0;
            nni_product_time_enable(1);
        }
        const double step_start = wall();
        for (int i = 1; i < n; i++) {
            if (model->layers[i]->fused) /* run by the layer before it (fuse_activation) */
                continue;
            double t = now();
            model->layers[i]->ops->forward(model->layers[i], &pass);
            t = now() - t;
            fwd[i] += t;
            fwd_min[i] = t < fwd_min[i] ? t : fwd_min[i];
        }
        double t = now();
        nn_loss_eval(loss, model->output->out, &targets, batch, 1.0f / (float)batch,
                     model->output->dout);
        loss_time += now() - t;
        for (int i = n - 1; i > 0; i--)
            if (model->layers[i]->dout && !model->layers[i]->fused) {
                t = now();
                model->layers[i]->ops->backward(model->layers[i], &pass);
                t = now() - t;
                bwd[i] += t;
                bwd_min[i] = t < bwd_min[i] ? t : bwd_min[i];
            }
        if (unit_slots) {
            t = now();
            sum_units(model, &pass, unit_slots, &cover, &tree);
            t = now() - t;
            sum_time += t;
            sum_min = t < sum_min ? t : sum_min;
        }
        t = now();
        nn_optim_step(opt, model, nn_optim_base_lr(opt));
        optim_time += now() - t;
        const double step_wall = wall() - step_start;
        if (steps >= 2) {
            step_min = step_wall < step_min ? step_wall : step_min;
            if (steps - 2 == step_capacity) {
                step_capacity *= 2;
                step_times = realloc(step_times, (size_t)step_capacity * sizeof *step_times);
                if (!step_times) {
                    fprintf(stderr, "out of memory\n");
                    return 1;
                }
            }
            step_times[steps - 2] = step_wall;
        }
        steps++;
        if (steps > 2 && wall() - start_wall >= seconds)
            break;
    }
    const double elapsed = now() - start, elapsed_wall = wall() - start_wall;
    const double product_seconds = nni_product_time_seconds();
    nni_product_time_enable(0);
    const int timed = steps - 2;
    char kernels[128];
    nni_kernels_describe(kernels, sizeof kernels);
    printf("%s: batch %lld, %d BLAS thread(s), OpenBLAS core %s, kernels %s%s", argv[1],
           (long long)batch, threads, nni_gemm_core(), kernels,
           bf16 ? ", bf16 products" : "");
    if (unit > 0)
        printf(", per-unit gradients of %lld samples", (long long)unit);
    printf("\n");
    char gemm_text[160];
    nni_gemm_backend_describe(gemm_text, sizeof gemm_text);
    printf("gemm: %s\n", gemm_text);
    const char *isa = "";
    const double peak = measured_peak(&isa);
    printf("FMA peak %.1f GFLOP/s per core (%s, measured now, CPU time); GF/s and %%pk below: "
           "products of the fastest step per CPU-second, and their share of it\n", peak, isa);
    const nni_bf16_rate rate = nni_bf16_rate_measure();
    if (rate.bf16_gflops > 0)
        printf("bf16 peak %.1f GFLOP/s per core (vdpbf16ps, measured now; float FMAs %.1f in the "
               "same loop: %.2fx)\n", rate.bf16_gflops, rate.fma_gflops,
               rate.bf16_gflops / rate.fma_gflops);
    if (rate.amx_gflops > 0)
        printf("AMX peak %.1f GFLOP/s per core (tdpbf16ps, measured now: %.1fx float FMAs)%s\n",
               rate.amx_gflops, rate.amx_gflops / rate.fma_gflops,
               bf16 && nni_bf16_amx_chosen() ? "; bf16 products on AMX" : "");
    printf("%-22s %-14s %10s %10s %10s %10s %8s %8s %6s %6s  (CPU time of all threads)\n",
           "layer", "type", "fwd ms", "bwd ms", "fwd min", "bwd min", "fwd GF/s", "bwd GF/s",
           "fwd%pk", "bwd%pk");
    double total_f = 0, total_b = 0, min_f = 0, min_b = 0;
    for (int i = 1; i < n; i++) {
        if (model->layers[i]->fused)
            continue;
        double bm = model->layers[i]->dout ? bwd_min[i] : 0;
        printf("%-22s %-14s %10.3f %10.3f %10.3f %10.3f", model->layers[i]->name,
               model->layers[i]->ops->type, 1e3 * fwd[i] / timed, 1e3 * bwd[i] / timed,
               1e3 * fwd_min[i], 1e3 * bm);
        double flops_f, flops_b;
        product_flops(model->layers[i], batch, &flops_f, &flops_b);
        if (flops_f > 0 && bm > 0) {
            const double gf = flops_f / fwd_min[i] / 1e9, gb = flops_b / bm / 1e9;
            printf(" %8.1f %8.1f %5.0f%% %5.0f%%", gf, gb, 100 * gf / peak, 100 * gb / peak);
        }
        printf("\n");
        total_f += fwd[i];
        total_b += bwd[i];
        min_f += fwd_min[i];
        min_b += bm;
    }
    printf("%-22s %-14s %10.3f %10.3f %10.3f %10.3f\n", "total", "", 1e3 * total_f / timed,
           1e3 * total_b / timed, 1e3 * min_f, 1e3 * min_b);
    print_conv_products(model, &pass, fwd_min, peak);
    printf("loss %.3f ms, optimizer %.3f ms per step\n", 1e3 * loss_time / timed,
           1e3 * optim_time / timed);
    /* Amdahl's bound: what is left of the step when its products take no time. */
    const double share = product_seconds / elapsed;
    printf("products %.1f ms per step (%.0f%% of the CPU time; Winograd's between its "
           "transforms included): faster products, bf16 ones among them, can make this step "
           "at most %.2fx faster\n", 1e3 * product_seconds / timed, 100 * share,
           share < 1 ? 1 / (1 - share) : 0.0);
    /* bf16 (train.precision: bf16) runs the products alone in bf16: as efficient as the
     * float ones, at the rate of the instruction it would use (AMX's where the CPU has it),
     * the step gains this much. */
    if (!bf16 && rate.bf16_gflops > 0 && rate.fma_gflops > 0) {
        const int amx = rate.amx_gflops > 0;
        const double ratio = (amx ? rate.amx_gflops : rate.bf16_gflops) / rate.fma_gflops;
        printf("bf16 products as efficient as these, at the %.2fx rate of %s measured "
               "above: this step %.2fx faster\n", ratio, amx ? "tdpbf16ps" : "vdpbf16ps",
               1 / (1 - share + share / ratio));
    }
    if (unit_slots)
        printf("tree sum of the units' gradients %.3f ms per step, least %.3f ms; backward and "
               "sum least %.3f ms\n", 1e3 * sum_time / timed, 1e3 * sum_min,
               1e3 * (min_b + sum_min));
    printf("CPU %.1f ms per step (%.0f samples per CPU-second); wall %.1f ms per step, %.0f "
           "samples/s (train step)\n", 1e3 * elapsed / timed,
           (double)timed * (double)batch / elapsed, 1e3 * elapsed_wall / timed,
           (double)timed * (double)batch / elapsed_wall);
    printf("fastest step: wall %.1f ms, %.0f samples/s\n", 1e3 * step_min,
           (double)batch / step_min);
    print_step_spread(step_times, timed);
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    printf("peak RSS %.1f MiB\n", (double)usage.ru_maxrss / 1024.0);
    free(step_times);
    free(fwd);
    free(bwd);
    free(fwd_min);
    free(bwd_min);
    free(labels);
    free(ids);
    nn_optim_free(opt);
    nn_loss_free(loss);
    if (unit_slots)
        nni_model_use_grads(model, NULL);
    nn_model_free(model);
    free(unit_slots);
    free(unit_ids);
    free(pass.unit_nodes);
    free(pass.unit_fused);
    nni_tree_sum_free(&tree);
    nni_tree_sum_free(&cover);
    nn_cfg_free(cfg);
    return 0;
}
