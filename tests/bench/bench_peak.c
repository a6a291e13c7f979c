/* bench_peak: the machine's single-precision FMA peak, measured, so that benchmark figures
 * can be given as a share of it. A loop of independent fused multiply-adds (12 accumulators,
 * enough to cover the FMA latency on current x86 cores) in the widest vectors the CPU has
 * (AVX-512, else AVX2+FMA, else scalar), on 1 thread and then on every thread of the OpenMP
 * team, each for about half a second. Prints
 *   peak_isa avx512|avx2|scalar
 *   peak_gflops_1 <GFLOP/s on one core>
 *   peak_gflops_all <GFLOP/s on all threads> threads <n> */
#include <stdio.h>

#include "fma_peak.h"

int main(void)
{
    int lanes = 1;
    const char *isa = "scalar";
    const fma_loop loop = fma_widest(&lanes, &isa);
    volatile float sink = 0;
    const long rounds = fma_calibrate(loop, 0.5);
    double best1 = 0, best_all = 0;
    const int threads = omp_get_max_threads();
    for (int repeat = 0; repeat < 3; repeat++) {
        double one = fma_measure(loop, lanes, rounds, 1, &sink);
        double all = fma_measure(loop, lanes, rounds, threads, &sink);
        best1 = one > best1 ? one : best1;
        best_all = all > best_all ? all : best_all;
    }
    printf("peak_isa %s\npeak_gflops_1 %.1f\npeak_gflops_all %.1f threads %d\n", isa, best1,
           best_all, threads);
    return sink == 12345.0f; /* keeps the loops' results alive */
}
