/* nni_gemm_nn and nni_gemm_nt (src/core/gemm.c) against OpenBLAS cblas_sgemm, one thread, on
 * the products of the convolution layers of launch/configs/resnet-inception.yaml (per
 * sample) and of the dense layers of launch/configs/mlp.yaml (batch 128), with the largest
 * difference between the two results. Then the first layers' sums of shifted planes
 * (src/core/conv_shifted.c) against the products they replace (the forward's flat product,
 * or for 1x1 nni_gemm_nn on x, from the bias; the weight gradient im2col and dy col^T by
 * nni_gemm_nt), 32 samples whose outputs fill 6.4 MB, so the output's memory traffic counts
 * as in a training step. Not a test: it prints GFLOP/s. On CPUs with AVX512_BF16 a column
 * gives nni_gemm_bf16's rate on the same products (train.precision: bf16).
 *
 *   bench_gemm [--seconds S]     (OpenBLAS runs with whatever OPENBLAS_CORETYPE says) */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/conv_shifted.h"
#include "core/gemm.h"
#include "core/gemm_bf16.h"
#include "core/im2col.h"
#include "core/rng.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct shape {
    const char *name;
    int m, n, k;
    int a_trans; /* A given as K x M (the input-gradient product reads W^T) */
    int b_trans; /* B given as N x K (the dense forward, x W^T) */
} shape;

static const shape shapes[] = {
    {"res_conv2 forward  W col", 64, 784, 576, 0, 0},
    {"res_conv2 dW       dy rows", 64, 576, 784, 0, 0},
    {"res_conv2 dcol     W^T dy", 576, 784, 64, 1, 0},
    {"inc_5x5 forward", 64, 196, 1600, 0, 0},
    {"inc_5x5 dW", 64, 1600, 196, 0, 0},
    {"inc_5x5 dcol", 1600, 196, 64, 1, 0},
    {"inc_3x3 forward", 64, 196, 576, 0, 0},
    {"1x1 64 -> 64, 14x14", 64, 196, 64, 0, 0},
    {"1x1 64 -> 64 dx  W^T dy", 64, 196, 64, 1, 0},
    {"1x1 64 -> 64 dW  dy x^T", 64, 64, 196, 0, 0},
    {"1x1 64 -> 32 forward", 32, 196, 64, 0, 0},
    {"1x1 64 -> 32 dx", 64, 196, 32, 1, 0},
    {"1x1 64 -> 32 dW", 32, 64, 196, 0, 0},
    {"1x1 64 -> 16 forward", 16, 196, 64, 0, 0},
    {"1x1 64 -> 16 dx", 64, 196, 16, 1, 0},
    {"1x1 64 -> 16 dW", 16, 64, 196, 0, 0},
    {"1x1 64 -> 64 dW  dy x^T (nt)", 64, 64, 196, 0, 1},
    {"1x1 64 -> 16 dW (nt)", 16, 64, 196, 0, 1},
    {"winograd 64 -> 64, 252 tiles", 64, 252, 64, 0, 0},
    {"winograd 64 -> 64, 112 tiles", 64, 112, 64, 0, 0},
    {"winograd dW, 252 tiles (nt)", 64, 64, 252, 0, 1},
    {"mlp fc1 forward  x W^T", 128, 256, 784, 0, 1},
    {"mlp fc1 dW       dy^T x", 256, 784, 128, 1, 0},
    {"mlp fc2 forward  x W^T", 128, 128, 256, 0, 1},
    {"mlp fc2 dW       dy^T x", 128, 256, 128, 1, 0},
    {"mlp fc2 dx       dy W", 128, 256, 128, 0, 0},
};

enum { OPENBLAS, NNTRAIN, NNTRAIN_BF16 };

static double rate(int ours, const shape *s, const float *a, const float *b, float *c,
                   double seconds)
{
    const int lda = s->a_trans ? s->m : s->k;
    int runs = 0;
    double start = now(), elapsed;
    const int ldb = s->b_trans ? s->k : s->n;
    /* Calls in groups between readings of the clock: a 1x1 convolution's product takes 2-8
     * us, and reading the CPU-time clock after each one took a sizeable part of that. */
    enum { GROUP = 16 };
    do {
        for (int g = 0; g < GROUP; g++) {
            if (ours == NNTRAIN_BF16)
                nni_gemm_bf16(s->m, s->n, s->k, a, s->a_trans ? 1 : lda, s->a_trans ? lda : 1,
                              b, s->b_trans ? 1 : ldb, s->b_trans ? ldb : 1, c, s->n, 0);
            else if (ours && s->b_trans)
                nni_gemm_nt(s->m, s->n, s->k, a, lda, b, ldb, c, s->n, 0);
            else if (ours)
                nni_gemm_nn(s->m, s->n, s->k, a, s->a_trans ? 1 : lda, s->a_trans ? lda : 1, b,
                            ldb, c, s->n, 0);
            else
                cblas_sgemm(CblasRowMajor, s->a_trans ? CblasTrans : CblasNoTrans,
                            s->b_trans ? CblasTrans : CblasNoTrans, s->m, s->n, s->k, 1.0f, a,
                            lda, b, ldb, 0.0f, c, s->n);
        }
        runs += GROUP;
        elapsed = now() - start;
    } while (elapsed < seconds);
    return 2.0 * s->m * s->n * s->k * runs / elapsed / 1e9;
}

typedef struct first_layer {
    const char *name;
    int channels, size, kernel, filters;
} first_layer;

static const first_layer first_layers[] = {
    {"res_conv1 1 -> 64, 3x3, 28x28", 1, 28, 3, 64},
    {"cnn conv1 1 -> 32, 3x3, 28x28", 1, 28, 3, 32},
    {"3 -> 64, 3x3, 28x28 (colour)", 3, 28, 3, 64},
    {"1 -> 32, 5x5, 28x28", 1, 28, 5, 32},
    {"res_proj 1 -> 64, 1x1, 28x28", 1, 28, 1, 64},
};

enum { SAMPLES = 32 };

/* GFLOP/s of one first layer's forward (grad 0) or weight gradient over SAMPLES samples, by
 * shifted planes (shifted 1) or im2col and the products; *out receives the result. */
static double first_layer_rate(const first_layer *f, int grad, int shifted, const float *x,
                               const float *w, const float *dy, float *y, float *out,
                               double seconds)
{
    const int pad = f->kernel / 2;
    const nni_conv_geom g = {.channels = f->channels, .in_h = f->size, .in_w = f->size,
                             .out_h = f->size, .out_w = f->size, .kernel_h = f->kernel,
                             .kernel_w = f->kernel, .stride_h = 1, .stride_w = 1,
                             .dilation_h = 1, .dilation_w = 1, .pad_top = pad,
                             .pad_left = pad};
    const int64_t K = (int64_t)f->channels * f->kernel * f->kernel, P = f->size * f->size;
    const int64_t in_size = f->channels * P, out_size = f->filters * P;
    float *scratch = malloc((size_t)nni_conv_shifted_scratch(&g) * sizeof *scratch);
    float *lanes = malloc((size_t)nni_conv_shifted_lane_floats(&g, f->filters) * sizeof *lanes);
    float *col = malloc((size_t)(K * P) * sizeof *col);
    float bias[64] = {0};
    int runs = 0;
    double start = now(), elapsed;
    do {
        if (grad && shifted)
            memset(lanes, 0, (size_t)nni_conv_shifted_lane_floats(&g, f->filters) * 4);
        for (int n = 0; n < SAMPLES; n++) {
            const float *xn = x + n * in_size, *dyn = dy + n * out_size;
            float *yn = y + n * out_size;
            if (!grad && shifted) {
                nni_conv_shifted_forward(&g, f->filters, w, bias, xn, yn, NULL, scratch);
            } else if (grad && shifted) {
                nni_conv_shifted_weight_grad(&g, f->filters, xn, dyn, lanes, scratch);
            } else if (grad) {
                nni_im2col(&g, xn, col);
                nni_gemm_nt(f->filters, K, P, dyn, P, col, P, out, K, n > 0);
            } else {
                for (int o = 0; o < f->filters; o++)
                    for (int64_t p = 0; p < P; p++)
                        yn[o * P + p] = bias[o];
                if (f->kernel == 1) { /* x itself is the lowered matrix */
                    nni_gemm_nn(f->filters, P, K, w, K, 1, xn, P, yn, P, 1);
                } else { /* padding same: the panels built inside the product */
                    nni_conv_flat_product(&g, f->filters, w, xn, yn, 1);
                }
            }
        }
        if (grad && shifted)
            nni_conv_shifted_weight_grad_finish(&g, f->filters, lanes, out, K);
        runs++;
        elapsed = now() - start;
    } while (elapsed < seconds);
    if (!grad)
        memcpy(out, y, (size_t)out_size * sizeof *out);
    free(scratch);
    free(lanes);
    free(col);
    return 2.0 * SAMPLES * out_size * K * runs / elapsed / 1e9;
}

static void first_layer_table(double seconds)
{
    printf("\nfirst layers, %d samples: sums of shifted planes against the products they "
           "replace; GFLOP/s (CPU time)\n", SAMPLES);
    printf("%-32s %10s %10s %10s %10s %10s %10s\n", "layer", "fwd", "products", "dW",
           "products", "fwd diff", "dW diff");
    for (size_t i = 0; i < sizeof first_layers / sizeof first_layers[0]; i++) {
        const first_layer *f = &first_layers[i];
        const int64_t K = (int64_t)f->channels * f->kernel * f->kernel;
        const int64_t in = (int64_t)SAMPLES * f->channels * f->size * f->size;
        const int64_t out = (int64_t)SAMPLES * f->filters * f->size * f->size;
        float *x = malloc((size_t)in * sizeof *x), *w = malloc((size_t)(f->filters * K) * 4);
        float *dy = malloc((size_t)out * sizeof *dy), *y = malloc((size_t)out * sizeof *y);
        float *r[4];
        for (int j = 0; j < 4; j++)
            r[j] = malloc((size_t)(out / SAMPLES) * sizeof *r[j]);
        nni_rng rng = nni_rng_stream(2, NNI_RNG_NOISE, 0, 0, (uint32_t)i);
        for (int64_t j = 0; j < in; j++)
            x[j] = nni_rng_uniform(&rng) - 0.5f;
        for (int64_t j = 0; j < f->filters * K; j++)
            w[j] = nni_rng_uniform(&rng) - 0.5f;
        for (int64_t j = 0; j < out; j++)
            dy[j] = nni_rng_uniform(&rng) - 0.5f;
        double rates[4];
        for (int j = 0; j < 4; j++)
            rates[j] = first_layer_rate(f, j / 2, j % 2 == 0, x, w, dy, y, r[j], seconds);
        /* The forwards compare the last sample's outputs (the same bits: 0); the weight
         * gradients (im2row's (kh, kw, in) order against torch's (in, kh, kw)) the sums over
         * the samples, relative to their count. */
        const int64_t kk = f->kernel * f->kernel;
        double fwd_diff = 0, dw_diff = 0;
        for (int64_t j = 0; j < out / SAMPLES; j++)
            fwd_diff = fmax(fwd_diff, fabs(r[0][j] - r[1][j]));
        for (int64_t o = 0; o < f->filters; o++)
            for (int64_t c = 0; c < f->channels; c++)
                for (int64_t t = 0; t < kk; t++)
                    dw_diff = fmax(dw_diff, fabs(r[2][o * K + t * f->channels + c] -
                                                 r[3][o * K + c * kk + t]) / SAMPLES);
        printf("%-32s %10.1f %10.1f %10.1f %10.1f %10.2g %10.2g\n", f->name, rates[0],
               rates[1], rates[2], rates[3], fwd_diff, dw_diff);
        for (int j = 0; j < 4; j++)
            free(r[j]);
        free(x);
        free(w);
        free(dy);
        free(y);
    }
}

int main(int argc, char **argv)
{
    double seconds = 0.3;
    if (argc == 3 && !strcmp(argv[1], "--seconds"))
        seconds = atof(argv[2]);
    openblas_set_num_threads(1);
    nn_error err;
    const int bf16 = nni_bf16_native_supported() && !nni_bf16_select(&err) &&
                     !nni_gemm_bf16_plan(1, &err);
    printf("OpenBLAS core %s, 1 thread; GFLOP/s (CPU time)\n", nni_gemm_core());
    printf("%-28s %5s %5s %5s %10s %10s %10s %10s\n", "product", "M", "N", "K", "nntrain",
           "openblas", "max diff", bf16 ? "bf16" : "");
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const shape *s = &shapes[i];
        float *a = malloc((size_t)s->m * s->k * sizeof *a);
        float *b = malloc((size_t)s->k * s->n * sizeof *b);
        float *c1 = malloc((size_t)s->m * s->n * sizeof *c1);
        float *c2 = malloc((size_t)s->m * s->n * sizeof *c2);
        nni_rng rng = nni_rng_stream(1, NNI_RNG_NOISE, 0, 0, (uint32_t)i);
        for (int64_t j = 0; j < (int64_t)s->m * s->k; j++)
            a[j] = nni_rng_uniform(&rng) - 0.5f;
        for (int64_t j = 0; j < (int64_t)s->k * s->n; j++)
            b[j] = nni_rng_uniform(&rng) - 0.5f;
        double ours = rate(NNTRAIN, s, a, b, c1, seconds);
        double theirs = rate(OPENBLAS, s, a, b, c2, seconds);
        double diff = 0;
        for (int64_t j = 0; j < (int64_t)s->m * s->n; j++)
            diff = fmax(diff, fabs(c1[j] - c2[j]));
        printf("%-28s %5d %5d %5d %10.1f %10.1f %10.2g", s->name, s->m, s->n, s->k, ours,
               theirs, diff);
        if (bf16)
            printf(" %10.1f", rate(NNTRAIN_BF16, s, a, b, c1, seconds));
        printf("\n");
        free(a);
        free(b);
        free(c1);
        free(c2);
    }
    first_layer_table(seconds);
    return 0;
}
