/* The products' time (core/product_time.h). */
#include "core/product_time.h"

#include <time.h>

atomic_int nni_product_timing;
static atomic_llong total_ns;

void nni_product_time_enable(int on)
{
    atomic_store(&total_ns, 0);
    atomic_store(&nni_product_timing, on != 0);
}

double nni_product_time_seconds(void)
{
    return 1e-9 * (double)atomic_load(&total_ns);
}

int64_t nni_product_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void nni_product_time_add(int64_t begin)
{
    atomic_fetch_add_explicit(&total_ns, nni_product_time_now() - begin, memory_order_relaxed);
}
