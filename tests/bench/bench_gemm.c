/* nni_gemm_nn and nni_gemm_nt (src/core/gemm.c) against OpenBLAS cblas_sgemm, one thread, on
 * the products of the convolution layers of launch/configs/resnet-inception.yaml (per
 * sample) and of the dense layers of launch/configs/mlp.yaml (batch 128), with the largest
 * difference between the two results. Not a test: it prints GFLOP/s.
 *
 *   bench_gemm [--seconds S]     (OpenBLAS runs with whatever OPENBLAS_CORETYPE says) */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gemm.h"
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
            if (ours && s->b_trans)
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

int main(int argc, char **argv)
{
    double seconds = 0.3;
    if (argc == 3 && !strcmp(argv[1], "--seconds"))
        seconds = atof(argv[2]);
    openblas_set_num_threads(1);
    printf("OpenBLAS core %s, 1 thread; GFLOP/s (CPU time)\n", nni_gemm_core());
    printf("%-28s %5s %5s %5s %10s %10s %10s\n", "product", "M", "N", "K", "nntrain",
           "openblas", "max diff");
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
        double ours = rate(1, s, a, b, c1, seconds), theirs = rate(0, s, a, b, c2, seconds);
        double diff = 0;
        for (int64_t j = 0; j < (int64_t)s->m * s->n; j++)
            diff = fmax(diff, fabs(c1[j] - c2[j]));
        printf("%-28s %5d %5d %5d %10.1f %10.1f %10.2g\n", s->name, s->m, s->n, s->k, ours,
               theirs, diff);
        free(a);
        free(b);
        free(c1);
        free(c2);
    }
    return 0;
}
