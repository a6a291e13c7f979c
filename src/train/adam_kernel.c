/* Adam's update in its usual form (no penalties, no amsgrad) as one branch-free loop over a
 * range of parameters: the optimizer's hot loop, compiled once per kernel set
 * (core/kernel_set.h) so that it vectorizes to the CPU's width in a portable build. The
 * operations and their order are those of train/optim.c's adam_update (torch's); sqrt and
 * division are correctly rounded at every vector width and nothing is contracted into an
 * FMA, so every set gives the same bits. */
#include <math.h>

#include "core/kernel_set.h"

void NNI_KERNEL(nni_adam_plain)(const nni_adam_coefs *c, int64_t n, float *restrict w,
                                float *restrict m1, float *restrict m2,
                                const float *restrict grad)
{
    const float b1 = c->beta1, b2 = c->beta2, one_minus_b1 = c->one_minus_beta1;
    const float one_minus_b2 = c->one_minus_beta2, eps = c->eps;
    const float step_size = c->step_size, bias2_sqrt = c->bias2_sqrt;
    for (int64_t i = 0; i < n; i++) {
        const float g = grad[i];
        m1[i] = b1 * m1[i] + one_minus_b1 * g;
        m2[i] = b2 * m2[i] + one_minus_b2 * g * g;
        const float denom = sqrtf(m2[i]) / bias2_sqrt + eps;
        w[i] -= step_size * (m1[i] / denom);
    }
}
