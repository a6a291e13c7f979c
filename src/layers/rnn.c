/* rnn: the Elman recurrent layer of torch.nn.RNN, h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} +
 * b_hh) with act tanh or relu (`nonlinearity`). One gate; nothing saved besides h, whose value
 * gives the activation's derivative (1 - h^2, or h > 0). Backpropagation through time and the
 * shapes: recurrent.c. */
#include <math.h>

#include "layers/recurrent.h"

static void rnn_step_forward(const nni_cell_step *s, int relu)
{
    const int64_t H = s->hidden;
    for (int64_t n = 0; n < s->batch; n++) {
        const float *xp = s->xp + n * s->xp_stride, *hp = s->hp + n * H;
        float *h = s->h + n * H;
        for (int64_t j = 0; j < H; j++) {
            const float a = xp[j] + hp[j];
            h[j] = relu ? (a > 0.0f ? a : 0.0f) : tanhf(a);
        }
    }
}

static void rnn_step_backward(const nni_cell_step *s, const nni_cell_grad *g, int relu)
{
    const int64_t H = s->hidden;
    for (int64_t n = 0; n < s->batch; n++) {
        const float *h = s->h + n * H, *dh = g->dh + n * H;
        float *dxp = g->dxp + n * g->dxp_stride, *dhp = g->dhp + n * H;
        float *dh_prev = g->dh_prev + n * H;
        for (int64_t j = 0; j < H; j++) {
            const float da = relu ? (h[j] > 0.0f ? dh[j] : 0.0f) : dh[j] * (1.0f - h[j] * h[j]);
            dxp[j] = dhp[j] = da;
            dh_prev[j] = 0.0f;
        }
    }
}

static const nni_cell rnn_cell = {.gates = 1, .forward = rnn_step_forward,
                                  .backward = rnn_step_backward};

static const char *const rnn_keys[] = {"units", "return_sequences", "bidirectional",
                                       "nonlinearity", NULL};

static nn_status rnn_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    return nni_recurrent_build(layer, cfg, &rnn_cell, 1, err);
}

const nn_layer_ops nni_rnn_ops = {
    .type = "rnn",
    .keys = rnn_keys,
    .params = "units return_sequences=false bidirectional=false nonlinearity=tanh (tanh | relu)",
    .help = "Elman recurrent layer as torch RNN on (steps, features): weight_ih, weight_hh, "
            "bias_ih, bias_hh (+ _reverse); output (steps, D*units) or the final states",
    .build = rnn_build,
    .forward = nni_recurrent_forward,
    .backward = nni_recurrent_backward,
    .flops = nni_recurrent_flops,
    .destroy = nni_recurrent_destroy,
    .describe = nni_recurrent_describe,
    .torch_module = nni_recurrent_torch,
};
