/* The bf16 and float multiply-add rates (core/bf16_rate.h). */
#include "core/bf16_rate.h"

#include <stdio.h>

#include "core/clock.h"
#include "core/gemm_bf16.h"
#include "core/gemm_bf16_amx.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define RATE_X86 1
#define ROUNDS 20000
#define AMX_ROUNDS 5000 /* about 0.1 ms a trial at 3.6 TFLOP/s */
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/* Twelve chains, so the latency (4 to 6 cycles) never limits two issues per cycle. */
#define TWELVE(op) op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7) op(8) op(9) op(10) op(11)
#define DECLARE(i) __m512 acc##i = _mm512_set1_ps((float)(i));
#define SUM(i) sum = _mm512_add_ps(sum, acc##i);

/* The seconds of ROUNDS steps of the twelve chains (STEP(i) advances chain i), their sum
 * kept so that the loop is not optimized away. */
#define TIMED_CHAINS(STEP)                                                                     \
    TWELVE(DECLARE)                                                                            \
    const double start = nni_clock_seconds();                                                  \
    for (int r = 0; r < ROUNDS; r++) {                                                         \
        TWELVE(STEP)                                                                           \
    }                                                                                          \
    const double seconds = nni_clock_seconds() - start;                                        \
    __m512 sum = _mm512_setzero_ps();                                                          \
    TWELVE(SUM)                                                                                \
    volatile float sink = _mm512_reduce_add_ps(sum);                                           \
    (void)sink;                                                                                \
    return seconds;

__attribute__((target("avx512f"))) static double fma_seconds(float scale)
{
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(scale);
#define FMA(i) acc##i = _mm512_fmadd_ps(acc##i, a, b);
    TIMED_CHAINS(FMA)
}

BF16_TARGET static double bf16_seconds(float scale)
{
    const __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(0.5f), _mm512_set1_ps(0.25f));
    const __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(scale), _mm512_set1_ps(scale));
#define DOT(i) acc##i = _mm512_dpbf16_ps(acc##i, a, b);
    TIMED_CHAINS(DOT)
}
#endif

nni_bf16_rate nni_bf16_rate_measure(void)
{
    static nni_bf16_rate rate;
    static int measured;
    if (measured)
        return rate;
    measured = 1;
#ifdef RATE_X86
    if (!nni_bf16_native_supported())
        return rate;
    /* Alternated and the best of each kept, so a clock still ramping up or a moment on
     * another task slows one trial, not the comparison. */
    double fma = 1e30, bf16 = 1e30;
    for (int trial = 0; trial < 40; trial++) {
        const double f = fma_seconds(1e-7f), d = bf16_seconds(1e-7f);
        fma = f < fma ? f : fma;
        bf16 = d < bf16 ? d : bf16;
    }
    const double lanes_ops = 16.0 * 12 * ROUNDS;
    rate.fma_gflops = fma > 0 ? 2.0 * lanes_ops / fma / 1e9 : 0.0;
    rate.bf16_gflops = bf16 > 0 ? 4.0 * lanes_ops / bf16 / 1e9 : 0.0;
    if (nni_amx_bf16_supported()) {
        double amx = 1e30;
        nni_amx_begin();
        for (int trial = 0; trial < 10; trial++) {
            const double start = nni_clock_seconds();
            nni_amx_rate_loop(AMX_ROUNDS);
            const double seconds = nni_clock_seconds() - start;
            amx = seconds < amx ? seconds : amx;
        }
        nni_amx_end();
        rate.amx_gflops = amx > 0 ? 4.0 * 16 * 16 * 32 * 2 * AMX_ROUNDS / amx / 1e9 : 0.0;
    }
#endif
    return rate;
}

int nni_bf16_rate_note(nni_bf16_rate rate, char *buf, int size)
{
    /* Below 1.2x the packing and rounding eat the gain: fp32 is as fast or faster. */
    if (rate.fma_gflops <= 0 || rate.bf16_gflops <= 0 ||
        rate.bf16_gflops >= 1.2 * rate.fma_gflops)
        return 0;
    if (rate.amx_gflops > 0) /* NN_BF16=native asked for vdpbf16ps on a CPU with AMX */
        snprintf(buf, (size_t)size, "note: vdpbf16ps measured %.0f GFLOP/s a core against %.0f "
                 "for float FMAs (%.2fx), slower than fp32 here; this CPU's AMX tiles "
                 "(%.0f GFLOP/s) are NN_BF16=auto's choice", rate.bf16_gflops, rate.fma_gflops,
                 rate.bf16_gflops / rate.fma_gflops, rate.amx_gflops);
    else
        snprintf(buf, (size_t)size, "note: bf16 is slower than fp32 on this CPU: its vdpbf16ps "
                 "measured %.0f GFLOP/s a core against %.0f for float FMAs (%.2fx; about 2x "
                 "where bf16 pays), so train.precision: fp32 trains faster here",
                 rate.bf16_gflops, rate.fma_gflops, rate.bf16_gflops / rate.fma_gflops);
    return 1;
}
