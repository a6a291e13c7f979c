/* lstm: the long short-term memory layer of torch.nn.LSTM. Gates in torch's order i, f, g, o
 * (weight rows [i; f; g; o]):
 *   i = sigmoid(a_i), f = sigmoid(a_f), g = tanh(a_g), o = sigmoid(a_o)
 *   c = f * c_prev + i * g,  h = o * tanh(c)
 * where a = W_ih x_t + b_ih + W_hh h_prev + b_hh. Saved per unit: i, f, g, o, c; the cell
 * state's gradient is the carry between steps. Backpropagation through time and the shapes:
 * recurrent.c. */
#include <math.h>

#include "layers/recurrent.h"

enum { GATE_I, GATE_F, GATE_G, GATE_O, SAVED_C, SAVED_PER_UNIT };

static void lstm_step_forward(const nni_cell_step *s, int unused)
{
    (void)unused;
    const int64_t H = s->hidden;
    for (int64_t n = 0; n < s->batch; n++) {
        const float *xp = s->xp + n * s->xp_stride, *hp = s->hp + n * 4 * H;
        float *saved = s->saved + n * SAVED_PER_UNIT * H, *h = s->h + n * H;
        const float *c_prev = s->prev_saved ? s->prev_saved + n * SAVED_PER_UNIT * H + SAVED_C * H
                                            : NULL;
        for (int64_t j = 0; j < H; j++) {
            const float i = nni_sigmoidf(xp[GATE_I * H + j] + hp[GATE_I * H + j]);
            const float f = nni_sigmoidf(xp[GATE_F * H + j] + hp[GATE_F * H + j]);
            const float g = tanhf(xp[GATE_G * H + j] + hp[GATE_G * H + j]);
            const float o = nni_sigmoidf(xp[GATE_O * H + j] + hp[GATE_O * H + j]);
            const float c = (c_prev ? f * c_prev[j] : 0.0f) + i * g;
            saved[GATE_I * H + j] = i;
            saved[GATE_F * H + j] = f;
            saved[GATE_G * H + j] = g;
            saved[GATE_O * H + j] = o;
            saved[SAVED_C * H + j] = c;
            h[j] = o * tanhf(c);
        }
    }
}

static void lstm_step_backward(const nni_cell_step *s, const nni_cell_grad *gr, int unused)
{
    (void)unused;
    const int64_t H = s->hidden;
    for (int64_t n = 0; n < s->batch; n++) {
        const float *saved = s->saved + n * SAVED_PER_UNIT * H, *dh = gr->dh + n * H;
        const float *c_prev = s->prev_saved ? s->prev_saved + n * SAVED_PER_UNIT * H + SAVED_C * H
                                            : NULL;
        float *dxp = gr->dxp + n * gr->dxp_stride, *dhp = gr->dhp + n * 4 * H;
        float *carry = gr->carry + n * H, *dh_prev = gr->dh_prev + n * H;
        for (int64_t j = 0; j < H; j++) {
            const float i = saved[GATE_I * H + j], f = saved[GATE_F * H + j];
            const float g = saved[GATE_G * H + j], o = saved[GATE_O * H + j];
            const float tc = tanhf(saved[SAVED_C * H + j]);
            const float dc = carry[j] + dh[j] * o * (1.0f - tc * tc);
            const float da[4] = {dc * g * i * (1.0f - i),
                                 (c_prev ? dc * c_prev[j] : 0.0f) * f * (1.0f - f),
                                 dc * i * (1.0f - g * g), dh[j] * tc * o * (1.0f - o)};
            for (int k = 0; k < 4; k++)
                dxp[k * H + j] = dhp[k * H + j] = da[k];
            carry[j] = dc * f;
            dh_prev[j] = 0.0f;
        }
    }
}

static const nni_cell lstm_cell = {.gates = 4, .saved_per_unit = SAVED_PER_UNIT,
                                   .has_carry = 1, .forward = lstm_step_forward,
                                   .backward = lstm_step_backward};

static const char *const lstm_keys[] = {"units", "return_sequences", "bidirectional", NULL};

static nn_status lstm_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    return nni_recurrent_build(layer, cfg, &lstm_cell, 0, err);
}

const nn_layer_ops nni_lstm_ops = {
    .type = "lstm",
    .keys = lstm_keys,
    .params = "units return_sequences=false bidirectional=false",
    .help = "long short-term memory as torch LSTM on (steps, features), gates i, f, g, o: "
            "weight_ih, weight_hh, bias_ih, bias_hh (+ _reverse)",
    .build = lstm_build,
    .forward = nni_recurrent_forward,
    .backward = nni_recurrent_backward,
    .flops = nni_recurrent_flops,
    .destroy = nni_recurrent_destroy,
    .describe = nni_recurrent_describe,
    .torch_module = nni_recurrent_torch,
};
