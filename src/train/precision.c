/* train.precision: fp32 (the default) or bf16.
 *
 * bf16 runs the products of the dense and conv2d layers (forward, input gradient, weight
 * gradient) in bfloat16 with float sums (core/gemm_bf16.h); everything else stays float:
 * the master weights the optimizer updates, its state, the gradients the ranks sum, the
 * loss and softmax, normalization, and the checkpoints. The weights are rounded to bf16 as
 * the products pack them, which reads each weight once per product and allocates nothing.
 *
 * Each product sums its terms in a fixed order, so a run is deterministic and its results
 * depend on the thread and rank counts no more than in fp32: not at all for dense layers
 * and threads; through the float sums over ranks (and, for conv2d, over threads) of the
 * gradients, whose last-bit differences bf16's coarser rounding of the weights then
 * amplifies from step to step. train.reproducible: bitwise removes those too: the per-unit
 * gradients run the same bf16 products, and the exact sums do not care about the order. */
#include <string.h>

#include "core/gemm_backend.h"
#include "train/train_internal.h"

static const char *const precisions[] = {"fp32", "bf16", NULL};

nn_status nni_precision_setup(nn_trainer *t, const nn_cfg *train_cfg, nn_error *err)
{
    int bf16 = 0;
    nn_status st = nn_cfg_read_choice(train_cfg, "precision", precisions, "fp32", &bf16, err);
    if (st || !bf16)
        return st;
    /* The bf16 products are nntrain's own kernels; OpenBLAS has no bf16 product with float
     * sums in its cblas interface, so the two cannot be combined. */
    if (strcmp(nni_gemm_backend_current()->name, "nntrain"))
        return nn_fail(err, NN_ERR_CONFIG, "train.precision: bf16 runs nntrain's bf16 kernels "
                       "and cannot be combined with train.gemm: %s (use train.gemm: nntrain)",
                       nni_gemm_backend_current()->name);
    return nn_model_use_bf16(t->model, t->threads, err);
}
