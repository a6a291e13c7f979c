/* OpenBLAS kernel selection.
 *
 * A DYNAMIC_ARCH OpenBLAS (Debian's) picks its kernels from the CPU model when it loads.
 * Versions older than the CPU (0.3.21 on AMD Zen 4/5, for one) do not recognize it and
 * fall back to the AVX2 "Haswell" or "Zen" kernels although the CPU has AVX-512, which
 * halves the speed of every convolution and dense layer. OPENBLAS_CORETYPE=SkylakeX fixes
 * that, but OpenBLAS reads it only at load time; nn_gemm_init re-runs OpenBLAS's own
 * dispatch with the variable set, through the two entry points that DYNAMIC_ARCH builds
 * export. They are declared weak: with any other OpenBLAS build they are absent and
 * nothing changes. A user who sets OPENBLAS_CORETYPE keeps their choice. */
#include "core/gemm.h"

#include <cblas.h>
#include <stdlib.h>
#include <strings.h>

extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

static int cpu_has_avx512(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#else
    return 0;
#endif
}

void nn_gemm_init(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    if (getenv("OPENBLAS_CORETYPE") || !gotoblas_dynamic_init || !gotoblas_dynamic_quit ||
        !cpu_has_avx512())
        return;
    const char *core = openblas_get_corename();
    if (!core || (strcasecmp(core, "haswell") != 0 && strcasecmp(core, "zen") != 0))
        return;
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    unsetenv("OPENBLAS_CORETYPE");
}

const char *nn_gemm_core(void)
{
    const char *core = openblas_get_corename();
    return core ? core : "unknown";
}
