/* The FMA loops behind bench_peak and bench_step's share-of-peak columns: independent fused
 * multiply-adds (12 accumulators, enough to cover the FMA latency on current x86 cores) in
 * the widest vectors the CPU has (AVX-512, else AVX2+FMA, else scalar). */
#ifndef NN_BENCH_FMA_PEAK_H
#define NN_BENCH_FMA_PEAK_H

#include <immintrin.h>
#include <omp.h>

#include "core/clock.h"

#define ACCUMULATORS 12
#define INNER 1000

__attribute__((target("avx512f"))) static inline float fma_avx512(long rounds)
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

__attribute__((target("avx2,fma"))) static inline float fma_avx2(long rounds)
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

static inline float fma_scalar(long rounds)
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
static inline double fma_measure(fma_loop loop, int lanes, long rounds, int threads,
                                 volatile float *sink)
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

/* The widest loop this CPU runs, its lanes and name. */
static inline fma_loop fma_widest(int *lanes, const char **isa)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        *lanes = 16, *isa = "avx512";
        return fma_avx512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        *lanes = 8, *isa = "avx2";
        return fma_avx2;
    }
    *lanes = 1, *isa = "scalar";
    return fma_scalar;
}

/* Rounds of the loop that take about `seconds` on one thread (warming the clock up). */
static inline long fma_calibrate(fma_loop loop, double seconds)
{
    long rounds = 100;
    for (;;) {
        double start = nni_clock_seconds();
        loop(rounds);
        double took = nni_clock_seconds() - start;
        if (took > 0.1)
            return (long)((double)rounds * seconds / took) + 1;
        rounds *= 4;
    }
}

#endif
