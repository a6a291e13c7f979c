/* Switching a model's dense and conv2d products to bf16 (train.precision: bf16): chooses
 * the native or emulated path (core/gemm_bf16.h) and plans the packing panels for the
 * threads that will run the layers (the layers' teams have nni_threads() threads), so the
 * steps allocate nothing. */
#include "core/gemm_bf16.h"
#include "core/threads.h"
#include "nn/model.h"

nn_status nn_model_use_bf16(nn_model *model, int threads, nn_error *err)
{
    nn_status st = nni_bf16_select(err);
    if (!st)
        st = nni_gemm_bf16_plan(threads > nni_threads() ? threads : nni_threads(), err);
    if (!st)
        model->bf16 = 1;
    return st;
}
