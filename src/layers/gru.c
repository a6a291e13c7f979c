/* gru: the gated recurrent unit of torch.nn.GRU. Gates in torch's order r, z, n (weight rows
 * [r; z; n]), with the reset gate applied after the recurrent product, as torch does:
 *   r = sigmoid(xp_r + hp_r), z = sigmoid(xp_z + hp_z), n = tanh(xp_n + r * hp_n)
 *   h = (1 - z) * n + z * h_prev
 * where xp = W_ih x_t + b_ih and hp = W_hh h_prev + b_hh. Saved per unit: r, z, n and hp_n
 * (the gradient of r needs it). Backpropagation through time and the shapes: recurrent.c. */
#include <math.h>

#include "layers/recurrent.h"

enum { GATE_R, GATE_Z, GATE_N, SAVED_HP_N, SAVED_PER_UNIT };

static void gru_step_forward(const nni_cell_step *s, int unused)
{
    (void)unused;
    const int64_t H = s->hidden;
    for (int64_t n = 0; n < s->batch; n++) {
        const float *xp = s->xp + n * s->xp_stride, *hp = s->hp + n * 3 * H;
        const float *h_prev = s->h_prev ? s->h_prev + n * H : NULL;
        float *saved = s->saved + n * SAVED_PER_UNIT * H, *h = s->h + n * H;
        for (int64_t j = 0; j < H; j++) {
            const float r = nni_sigmoidf(xp[GATE_R * H + j] + hp[GATE_R * H + j]);
            const float z = nni_sigmoidf(xp[GATE_Z * H + j] + hp[GATE_Z * H + j]);
            const float hp_n = hp[GATE_N * H + j];
            const float cand = tanhf(xp[GATE_N * H + j] + r * hp_n);
            saved[GATE_R * H + j] = r;
            saved[GATE_Z * H + j] = z;
            saved[GATE_N * H + j] = cand;
            saved[SAVED_HP_N * H + j] = hp_n;
            h[j] = (1.0f - z) * cand + (h_prev ? z * h_prev[j] : 0.0f);
        }
    }
}

static void gru_step_backward(const nni_cell_step *s, const nni_cell_grad *gr, int unused)
{
    (void)unused;
    const int64_t H = s->hidden;
    for (int64_t n = 0; n < s->batch; n++) {
        const float *saved = s->saved + n * SAVED_PER_UNIT * H, *dh = gr->dh + n * H;
        const float *h_prev = s->h_prev ? s->h_prev + n * H : NULL;
        float *dxp = gr->dxp + n * gr->dxp_stride, *dhp = gr->dhp + n * 3 * H;
        float *dh_prev = gr->dh_prev + n * H;
        for (int64_t j = 0; j < H; j++) {
            const float r = saved[GATE_R * H + j], z = saved[GATE_Z * H + j];
            const float cand = saved[GATE_N * H + j], hp_n = saved[SAVED_HP_N * H + j];
            const float prev = h_prev ? h_prev[j] : 0.0f;
            const float dan = dh[j] * (1.0f - z) * (1.0f - cand * cand);
            const float daz = dh[j] * (prev - cand) * z * (1.0f - z);
            const float dar = dan * hp_n * r * (1.0f - r);
            dxp[GATE_R * H + j] = dhp[GATE_R * H + j] = dar;
            dxp[GATE_Z * H + j] = dhp[GATE_Z * H + j] = daz;
            dxp[GATE_N * H + j] = dan;
            dhp[GATE_N * H + j] = dan * r;
            dh_prev[j] = dh[j] * z;
        }
    }
}

static const nni_cell gru_cell = {.gates = 3, .saved_per_unit = SAVED_PER_UNIT,
                                  .forward = gru_step_forward, .backward = gru_step_backward};

static const char *const gru_keys[] = {"units", "return_sequences", "bidirectional", NULL};

static nn_status gru_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    return nni_recurrent_build(layer, cfg, &gru_cell, 0, err);
}

const nn_layer_ops nni_gru_ops = {
    .type = "gru",
    .keys = gru_keys,
    .params = "units return_sequences=false bidirectional=false",
    .help = "gated recurrent unit as torch GRU on (steps, features), gates r, z, n: "
            "weight_ih, weight_hh, bias_ih, bias_hh (+ _reverse)",
    .build = gru_build,
    .forward = nni_recurrent_forward,
    .backward = nni_recurrent_backward,
    .flops = nni_recurrent_flops,
    .destroy = nni_recurrent_destroy,
    .describe = nni_recurrent_describe,
    .torch_module = nni_recurrent_torch,
};
