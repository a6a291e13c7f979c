/* bench_peak: the machine's single-precision FMA peak, measured, so that benchmark figures
 * can be given as a share of it. A loop of independent fused multiply-adds (12 accumulators,
 * enough to cover the FMA latency on current x86 cores) in the widest vectors the CPU has
 * (AVX-512, else AVX2+FMA, else scalar), on 1 thread and then on every thread of the OpenMP
 * team, each for about half a second. Prints
 *   peak_isa avx512|avx2|scalar
 *   peak_gflops_1 <GFLOP/s on one core>
 *   peak_gflops_all <GFLOP/s on all threads> threads <n> */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>

#include "core/clock.h"

#define ACCUMULATORS 12
#define INNER 1000

__attribute__((target("avx512f"))) static float fma_avx512(long rounds)
{
    __m512 acc[ACCUMULATORS];
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < ACCUMULATORS; i++)
        acc[i] = _mm512_set1_ps((float)i);
    for (long r = 0; r < rounds; r++)
        for (int k = 0; k < INNER; k++)
            for (int i = 0; i < ACCUMULATORS; i++)
                acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    float sum = 0;
    for (int i = 0; i < ACCUMULATORS; i++)
        sum += _mm512_reduce_add_ps(acc[i]);
    return sum;
}

__attribute__((target("avx2,fma"))) static float fma_avx2(long rounds)
{
    __m256 acc[ACCUMULATORS];
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < ACCUMULATORS; i++)
        acc[i] = _mm256_set1_ps((float)i);
    for (long r = 0; r < rounds; r++)
        for (int k = 0; k < INNER; k++)
            for (int i = 0; i < ACCUMULATORS; i++)
                acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    float lanes[8], sum = 0;
    for (int i = 0; i < ACCUMULATORS; i++) {
        _mm256_storeu_ps(lanes, acc[i]);
        for (int l = 0; l < 8; l++)
            sum += lanes[l];
    }
    return sum;
}

static float fma_scalar(long rounds)
{
    float acc[ACCUMULATORS];
    for (int i = 0; i < ACCUMULATORS; i++)
        acc[i] = (float)i;
    for (long r = 0; r < rounds; r++)
        for (int k = 0; k < INNER; k++)
            for (int i = 0; i < ACCUMULATORS; i++)
                acc[i] = __builtin_fmaf(acc[i], 0.999999f, 1e-7f);
    float sum = 0;
    for (int i = 0; i < ACCUMULATORS; i++)
        sum += acc[i];
    return sum;
}

typedef float (*fma_loop)(long rounds);

/* GFLOP/s of `threads` threads each running the loop for `rounds` (2 flops per lane). */
static double measure(fma_loop loop, int lanes, long rounds, int threads, volatile float *sink)
{
    double start = nni_clock_seconds();
#pragma omp parallel num_threads(threads)
    {
        float s = loop(rounds);
#pragma omp critical
        *sink += s;
    }
    double seconds = nni_clock_seconds() - start;
    return 2.0 * lanes * ACCUMULATORS * INNER * (double)rounds * threads / seconds / 1e9;
}

int main(void)
{
    __builtin_cpu_init();
    fma_loop loop = fma_scalar;
    int lanes = 1;
    const char *isa = "scalar";
    if (__builtin_cpu_supports("avx512f")) {
        loop = fma_avx512, lanes = 16, isa = "avx512";
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        loop = fma_avx2, lanes = 8, isa = "avx2";
    }
    volatile float sink = 0;
    /* Calibrate to about 0.5 s on one thread, warming the clock up on the way. */
    long rounds = 100;
    for (;;) {
        double start = nni_clock_seconds();
        loop(rounds);
        double seconds = nni_clock_seconds() - start;
        if (seconds > 0.1) {
            rounds = (long)((double)rounds * 0.5 / seconds) + 1;
            break;
        }
        rounds *= 4;
    }
    double best1 = 0, best_all = 0;
    const int threads = omp_get_max_threads();
    for (int repeat = 0; repeat < 3; repeat++) {
        double one = measure(loop, lanes, rounds, 1, &sink);
        double all = measure(loop, lanes, rounds, threads, &sink);
        best1 = one > best1 ? one : best1;
        best_all = all > best_all ? all : best_all;
    }
    printf("peak_isa %s\npeak_gflops_1 %.1f\npeak_gflops_all %.1f threads %d\n", isa, best1,
           best_all, threads);
    return sink == 12345.0f; /* keeps the loops' results alive */
}
