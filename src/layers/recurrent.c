/* Backpropagation through time for the recurrent layers (the cells: rnn.c, lstm.c, gru.c;
 * shapes, parameters and the cell interface: recurrent.h).
 *
 * Per direction, for a batch of B sequences of T steps (rows n * T + t of x):
 *   forward   xp = x W_ih^T + b_ih                  one product for all B * T rows
 *             per step: hp = h_prev W_hh^T + b_hh   (B x G), then the cell
 *   backward  per step, last to first: the cell gives dxp, dhp and the direct part of
 *             dh_prev; dh_prev += dhp W_hh, dW_hh += dhp^T h_prev, db_hh += sums of dhp
 *             then for all steps at once: dW_ih += dxp^T x, db_ih += sums of dxp,
 *             dx (+)= dxp W_ih
 * The hidden states and each cell's saved values of every step live in buffers planned at
 * build for the model's largest batch (step-major in processing order, so a step's B rows are
 * one block for the products); the projections and gradients of a call use the shared
 * workspace. */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "core/gemm.h"
#include "layers/layer_util.h"
#include "layers/recurrent.h"
#include "model/model_internal.h"

enum { SLOT_W_IH, SLOT_W_HH, SLOT_B_IH, SLOT_B_HH, SLOTS_PER_DIRECTION };

typedef struct recurrent {
    const nni_cell *cell;
    int nonlinearity, return_sequences, directions;
    int over_input_steps; /* its steps are the model input's: padded steps are masked */
    int64_t steps, features, hidden, gate_width, capacity, out_width;
    float *h_all[2];     /* [T][capacity][H] per direction */
    float *saved_all[2]; /* [T][capacity][saved_per_unit * H] */
} recurrent;

static const char *const nonlinearity_names[] = {"tanh", "relu", NULL};

nn_status nni_recurrent_build(nn_layer *layer, const nn_cfg *cfg, const nni_cell *cell,
                              int allow_nonlinearity, nn_error *err)
{
    recurrent *r = calloc(1, sizeof *r);
    if (!r)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    layer->priv = r;
    r->cell = cell;
    const char *type = layer->ops->type;
    if (layer->n_inputs != 1)
        return nn_cfg_fail(err, cfg, "%s layer '%s' takes exactly one input", type, layer->name);
    const nn_layer *input = layer->inputs[0];
    if (input->out_shape.ndim != 2) {
        char shape[64];
        return nn_cfg_fail(err, cfg, "%s layer '%s' needs a (steps, features) input, but its "
                           "input '%s' has shape %s", type, layer->name, input->name,
                           nn_shape_format(input->out_shape, shape, sizeof shape));
    }
    int64_t units = 0;
    int bidirectional = 0;
    nn_status st;
    if ((st = nn_cfg_read_int(cfg, "units", 0, &units, err)) ||
        (st = nn_cfg_read_bool(cfg, "return_sequences", 0, &r->return_sequences, err)) ||
        (st = nn_cfg_read_bool(cfg, "bidirectional", 0, &bidirectional, err)) ||
        (allow_nonlinearity && (st = nn_cfg_read_choice(cfg, "nonlinearity", nonlinearity_names,
                                                        "tanh", &r->nonlinearity, err))))
        return st;
    if (units < 1)
        return nn_cfg_fail(err, nn_cfg_get(cfg, "units") ? nn_cfg_get(cfg, "units") : cfg,
                           "%s layer '%s' needs 'units' >= 1", type, layer->name);
    r->directions = bidirectional ? 2 : 1;
    r->steps = input->out_shape.dim[0];
    r->over_input_steps = layer->model->input_shape.ndim >= 1 &&
                          layer->model->input_shape.dim[0] == r->steps;
    r->features = input->out_shape.dim[1];
    r->hidden = units;
    r->gate_width = cell->gates * units;
    r->capacity = layer->model->capacity;
    r->out_width = r->directions * units;
    layer->out_shape = nn_shape_1d(r->out_width);
    if (r->return_sequences) {
        layer->out_shape.ndim = 2;
        layer->out_shape.dim[0] = r->steps;
        layer->out_shape.dim[1] = r->out_width;
    }
    const int64_t rows = r->capacity * r->steps;
    for (int d = 0; d < r->directions; d++) {
        r->h_all[d] = nni_alloc_floats(rows * units);
        r->saved_all[d] = cell->saved_per_unit ? nni_alloc_floats(rows * units *
                                                                  cell->saved_per_unit) : NULL;
        if (!r->h_all[d] || (cell->saved_per_unit && !r->saved_all[d]))
            return nn_fail(err, NN_ERR_OTHER, "out of memory for the states of %s layer '%s'",
                           type, layer->name);
    }
    /* forward: xp + hp; backward: dxp + dhp + dh + dh_next + carry */
    layer->workspace_floats = rows * r->gate_width + r->capacity * (r->gate_width + 3 * units);

    const int64_t G = r->gate_width;
    for (int d = 0; d < r->directions; d++) {
        const char *suffix = d ? "_reverse" : "";
        char name[4][32];
        snprintf(name[0], sizeof name[0], "weight_ih%s", suffix);
        snprintf(name[1], sizeof name[1], "weight_hh%s", suffix);
        snprintf(name[2], sizeof name[2], "bias_ih%s", suffix);
        snprintf(name[3], sizeof name[3], "bias_hh%s", suffix);
        int64_t w_ih[2] = {G, r->features}, w_hh[2] = {G, units};
        nni_layer_add_param(layer, name[0], 2, w_ih, r->features, G, NULL, 0);
        nni_layer_add_param(layer, name[1], 2, w_hh, units, G, NULL, 0);
        nni_layer_add_param(layer, name[2], 1, &G, r->features, G, &layer->bias_init,
                            NN_PARAM_NO_DECAY);
        nni_layer_add_param(layer, name[3], 1, &G, units, G, &layer->bias_init,
                            NN_PARAM_NO_DECAY);
    }
    if (layer->n_params != SLOTS_PER_DIRECTION * r->directions)
        return nn_fail(err, NN_ERR_OTHER, "%s layer '%s': cannot declare its parameters", type,
                       layer->name);
    return NN_OK;
}

/* Variable lengths (nn_pass.lengths, for a layer over the model input's steps): row n has
 * len_n valid steps, padded to T. Each direction runs in processing order s = 0 .. T - 1,
 * row n's step s being its time s (forward) or len_n - 1 - s (reverse: it starts at the last
 * valid step, as torch's packed sequences), and s >= len_n the padding. The reverse
 * direction's input projections are put in processing order by reversing each row's valid
 * steps in place (and its gradients back again), so one product still covers a step's rows.
 * Padded steps come after every valid step of their row: whatever they compute never reaches
 * a valid output; their outputs are zero and their gradients are zeroed. */
static int64_t row_length(const recurrent *r, const int32_t *lengths, int64_t n)
{
    return lengths ? lengths[n] : r->steps;
}

/* Reverses the first len_n rows of G floats of every sequence n of rows[n][T][G]. */
static void reverse_valid_steps(const recurrent *r, float *rows, int64_t batch,
                                const int32_t *lengths)
{
    const int64_t G = r->gate_width, T = r->steps;
    for (int64_t n = 0; n < batch; n++) {
        float *seq = rows + n * T * G;
        for (int64_t a = 0, b = row_length(r, lengths, n) - 1; a < b; a++, b--)
            for (int64_t g = 0; g < G; g++) {
                const float keep = seq[a * G + g];
                seq[a * G + g] = seq[b * G + g];
                seq[b * G + g] = keep;
            }
    }
}

/* Processing step s of direction d (hidden states and saved values in processing order). */
static nni_cell_step step_at(const recurrent *r, int d, int64_t s, int64_t batch,
                             const float *xp, const float *hp)
{
    const int64_t H = r->hidden, S = r->cell->saved_per_unit;
    nni_cell_step step = {
        .batch = batch, .hidden = H, .xp = xp ? xp + s * r->gate_width : NULL,
        .xp_stride = r->steps * r->gate_width, .hp = hp,
        .h_prev = s ? r->h_all[d] + (s - 1) * r->capacity * H : NULL,
        .prev_saved = s && S ? r->saved_all[d] + (s - 1) * r->capacity * S * H : NULL,
        .saved = S ? r->saved_all[d] + s * r->capacity * S * H : NULL,
        .h = r->h_all[d] + s * r->capacity * H};
    return step;
}

/* Where h of processing step s, row n (len valid steps), direction d goes in the output
 * (NULL: not an output). */
static float *out_row(const recurrent *r, float *out, int d, int64_t s, int64_t n, int64_t len)
{
    if (s >= len)
        return NULL;
    if (r->return_sequences)
        return out + (n * r->steps + (d ? len - 1 - s : s)) * r->out_width + d * r->hidden;
    return s == len - 1 ? out + n * r->out_width + d * r->hidden : NULL;
}

static const int32_t *pass_lengths(const recurrent *r, const nn_pass *pass)
{
    return r->over_input_steps ? pass->lengths : NULL;
}

void nni_recurrent_forward(nn_layer *layer, const nn_pass *pass)
{
    const recurrent *r = layer->priv;
    const int64_t B = pass->batch, T = r->steps, F = r->features, H = r->hidden;
    const int64_t G = r->gate_width;
    const int32_t *lengths = pass_lengths(r, pass);
    float *xp = nni_layer_workspace(layer);
    float *hp = xp + r->capacity * T * G;
    const float *x = layer->inputs[0]->out;
    if (lengths && r->return_sequences)
        memset(layer->out, 0, (size_t)(B * T * r->out_width) * sizeof *layer->out);
    for (int d = 0; d < r->directions; d++) {
        const float *w_ih = nni_layer_param(layer, SLOTS_PER_DIRECTION * d + SLOT_W_IH);
        const float *w_hh = nni_layer_param(layer, SLOTS_PER_DIRECTION * d + SLOT_W_HH);
        const float *b_ih = nni_layer_param(layer, SLOTS_PER_DIRECTION * d + SLOT_B_IH);
        const float *b_hh = nni_layer_param(layer, SLOTS_PER_DIRECTION * d + SLOT_B_HH);
        nni_gemm_nt(B * T, G, F, x, F, w_ih, F, xp, G, 0);
        for (int64_t row = 0; row < B * T; row++)
            for (int64_t g = 0; g < G; g++)
                xp[row * G + g] += b_ih[g];
        if (d)
            reverse_valid_steps(r, xp, B, lengths);
        for (int64_t s = 0; s < T; s++) {
            nni_cell_step step = step_at(r, d, s, B, xp, hp);
            for (int64_t n = 0; n < B; n++)
                memcpy(hp + n * G, b_hh, (size_t)G * sizeof *hp);
            if (step.h_prev)
                nni_gemm_nt(B, G, H, step.h_prev, H, w_hh, H, hp, G, 1);
            r->cell->forward(&step, r->nonlinearity);
            for (int64_t n = 0; n < B; n++) {
                float *dst = out_row(r, layer->out, d, s, n, row_length(r, lengths, n));
                if (dst)
                    memcpy(dst, step.h + n * H, (size_t)H * sizeof *dst);
            }
        }
    }
}

/* The parameter gradient of slot k to accumulate into, or NULL when frozen (zeroed first
 * unless the pass accumulates). */
static float *grad_slot(nn_layer *layer, const nn_pass *pass, int k, int64_t size)
{
    if (nni_layer_param_frozen(layer, k))
        return NULL;
    float *g = nni_layer_grad(layer, k);
    if (!pass->grad_accumulate)
        memset(g, 0, (size_t)size * sizeof *g);
    return g;
}

void nni_recurrent_backward(nn_layer *layer, const nn_pass *pass)
{
    const recurrent *r = layer->priv;
    const int64_t B = pass->batch, T = r->steps, F = r->features, H = r->hidden;
    const int64_t G = r->gate_width;
    const int32_t *lengths = pass_lengths(r, pass);
    float *dxp = nni_layer_workspace(layer);
    float *dhp = dxp + r->capacity * T * G;
    float *dh = dhp + r->capacity * G;
    float *dh_next = dh + r->capacity * H;
    float *carry = dh_next + r->capacity * H;
    const float *x = layer->inputs[0]->out;
    float *dx = layer->inputs[0]->dout;
    for (int d = 0; d < r->directions; d++) {
        const int base = SLOTS_PER_DIRECTION * d;
        const float *w_ih = nni_layer_param(layer, base + SLOT_W_IH);
        const float *w_hh = nni_layer_param(layer, base + SLOT_W_HH);
        float *dw_ih = grad_slot(layer, pass, base + SLOT_W_IH, G * F);
        float *dw_hh = grad_slot(layer, pass, base + SLOT_W_HH, G * H);
        float *db_ih = grad_slot(layer, pass, base + SLOT_B_IH, G);
        float *db_hh = grad_slot(layer, pass, base + SLOT_B_HH, G);
        memset(dh_next, 0, (size_t)(B * H) * sizeof *dh_next);
        memset(carry, 0, (size_t)(B * H) * sizeof *carry);
        for (int64_t s = T - 1; s >= 0; s--) {
            /* The forward's hp is not kept: the cells that need it (gru) saved their part. */
            nni_cell_step step = step_at(r, d, s, B, NULL, NULL);
            for (int64_t n = 0; n < B; n++) {
                const float *from_out = out_row(r, layer->dout, d, s, n,
                                                row_length(r, lengths, n));
                for (int64_t j = 0; j < H; j++)
                    dh[n * H + j] = dh_next[n * H + j] + (from_out ? from_out[j] : 0.0f);
            }
            nni_cell_grad grad = {.dh = dh, .carry = r->cell->has_carry ? carry : NULL,
                                  .dxp = dxp + s * G, .dxp_stride = T * G, .dhp = dhp,
                                  .dh_prev = dh_next};
            r->cell->backward(&step, &grad, r->nonlinearity);
            for (int64_t n = 0; lengths && n < B; n++) {
                if (s < lengths[n])
                    continue;
                memset(dxp + (n * T + s) * G, 0, (size_t)G * sizeof *dxp);
                memset(dhp + n * G, 0, (size_t)G * sizeof *dhp);
                memset(dh_next + n * H, 0, (size_t)H * sizeof *dh_next);
                memset(carry + n * H, 0, (size_t)H * sizeof *carry);
            }
            if (step.h_prev) {
                nni_gemm_nn(B, H, G, dhp, G, 1, w_hh, H, dh_next, H, 1);
                if (dw_hh)
                    nni_gemm_nn(G, H, B, dhp, 1, G, step.h_prev, H, dw_hh, H, 1);
            }
            if (db_hh)
                nni_layer_column_sums(dhp, B, G, 0, G, db_hh, 1);
        }
        if (d)
            reverse_valid_steps(r, dxp, B, lengths);
        if (dw_ih)
            nni_gemm_nn(G, F, B * T, dxp, 1, G, x, F, dw_ih, F, 1);
        if (db_ih)
            nni_layer_column_sums(dxp, B * T, G, 0, G, db_ih, 1);
        if (dx)
            nni_gemm_nn(B * T, F, G, dxp, G, 1, w_ih, F, dx, F,
                        d > 0 || layer->input_accumulate[0]);
    }
}

int64_t nni_recurrent_flops(const nn_layer *layer)
{
    const recurrent *r = layer->priv;
    return 2 * r->directions * r->steps * r->gate_width * (r->features + r->hidden);
}

void nni_recurrent_destroy(nn_layer *layer)
{
    recurrent *r = layer->priv;
    for (int d = 0; r && d < 2; d++) {
        free(r->h_all[d]);
        free(r->saved_all[d]);
    }
    nni_layer_free_priv(layer);
}

void nni_recurrent_describe(const nn_layer *layer, char *buf, int size)
{
    const recurrent *r = layer->priv;
    snprintf(buf, (size_t)size, "%lld units%s%s%s", (long long)r->hidden,
             r->directions == 2 ? " bidirectional" : "",
             r->return_sequences ? " sequences" : " last",
             r->nonlinearity ? " relu" : "");
}

void nni_recurrent_torch(const nn_layer *layer, char *buf, int size)
{
    const recurrent *r = layer->priv;
    char kind[8] = {0};
    for (int i = 0; i < 7 && layer->ops->type[i]; i++)
        kind[i] = (char)toupper((unsigned char)layer->ops->type[i]);
    snprintf(buf, (size_t)size, "Recurrent(\"%s\", %lld, %lld, bidirectional=%s, "
             "return_sequences=%s%s)", kind, (long long)r->features, (long long)r->hidden,
             r->directions == 2 ? "True" : "False", r->return_sequences ? "True" : "False",
             r->nonlinearity ? ", nonlinearity=\"relu\"" : "");
}
