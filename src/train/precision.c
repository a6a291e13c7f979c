/* train.precision: fp32 (the default) or bf16.
 *
 * bf16 runs the products of the dense and conv2d layers (forward, input gradient, weight
 * gradient) in bfloat16 with float sums (core/gemm_bf16.h); everything else stays float:
 * the master weights the optimizer updates, its state, the gradients the ranks sum, the
 * loss and softmax, normalization, and the checkpoints. The weights are rounded to bf16 as
 * the products pack them, which reads each weight once per product and allocates nothing.
 *
 * Each product sums its terms in a fixed order, so a run is deterministic and its results
 * do not depend on the thread count any more than in fp32. train.reproducible: bitwise is
 * refused: its per-unit gradients run the float products. */
#include <string.h>

#include "train/train_internal.h"

static const char *const precisions[] = {"fp32", "bf16", NULL};

nn_status nni_precision_setup(nn_trainer *t, const nn_cfg *train_cfg, nn_error *err)
{
    int bf16 = 0;
    nn_status st = nn_cfg_read_choice(train_cfg, "precision", precisions, "fp32", &bf16, err);
    if (st || !bf16)
        return st;
    if (t->repro.unit)
        return nn_cfg_fail(err, nn_cfg_get(train_cfg, "precision"), "bf16 cannot be combined "
                           "with train.reproducible: bitwise (its exact per-unit sums run the "
                           "fp32 products); use one or the other");
    return nn_model_use_bf16(t->model, t->threads, err);
}
