/* The recurrent layers (rnn.c, lstm.c, gru.c): one driver (recurrent.c) runs backpropagation
 * through time for any cell; a cell file supplies what one time step computes.
 *
 * Shapes: the input is a sequence (steps T, features F), each sample stored step by step;
 * the output is (T, D * H) with `return_sequences: true`, else (D * H): the final hidden
 * state of each direction (the forward direction's at step T - 1, the reverse one's at step
 * 0, as torch's h_n). D is 2 when `bidirectional`, the reverse direction's features
 * following the forward one's as in torch.
 *
 * Parameters per direction, torch's names and layouts (gates stacked in torch's order):
 * weight_ih [G, F], weight_hh [G, H], bias_ih [G], bias_hh [G], G = gates * H; the reverse
 * direction's carry the suffix `_reverse`.
 *
 * A cell sees, for a batch at one step, the input projections xp = W_ih x_t + b_ih (computed
 * for all steps in one product before the recurrence) and hp = W_hh h_prev + b_hh, and keeps
 * what its backward needs in `saved` (saved_per_unit floats per hidden unit and sample). */
#ifndef NNI_LAYERS_RECURRENT_H
#define NNI_LAYERS_RECURRENT_H

#include "layers/layer_internal.h"

/* One step for rows n < batch. Rows of xp are xp_stride apart; hp, h and saved rows are
 * contiguous ([batch][G], [batch][H], [batch][saved_per_unit * H]). prev_saved and h_prev
 * are the previous step's (NULL at the first step: zero state). */
typedef struct nni_cell_step {
    int64_t batch, hidden;
    const float *xp;
    int64_t xp_stride;
    const float *hp;
    const float *h_prev;
    const float *prev_saved;
    float *saved;
    float *h;
} nni_cell_step;

/* Its backward: dh is d(loss)/d(h) for this step (from the output and the later steps);
 * carry is the cell's own state gradient ([batch][H], LSTM's dc; in: from the later step,
 * out: to the previous one; NULL for cells without one). Writes dxp (rows dxp_stride apart,
 * the gradient of the input projection's pre-activations), dhp ([batch][G]) and dh_prev
 * ([batch][H], the part of d(loss)/d(h_prev) that does not go through W_hh; the driver adds
 * dhp W_hh). */
typedef struct nni_cell_grad {
    const float *dh;
    float *carry;
    float *dxp;
    int64_t dxp_stride;
    float *dhp;
    float *dh_prev;
} nni_cell_grad;

typedef struct nni_cell {
    int gates;          /* G = gates * H */
    int saved_per_unit;
    int has_carry;      /* a state besides h flows between steps (LSTM's cell state) */
    /* `nonlinearity` key of rnn: 0 tanh, 1 relu (the other cells ignore it) */
    void (*forward)(const nni_cell_step *s, int nonlinearity);
    void (*backward)(const nni_cell_step *s, const nni_cell_grad *g, int nonlinearity);
} nni_cell;

/* The driver's ops, for the cell files' tables. build reads units, return_sequences,
 * bidirectional (and nonlinearity when allow_nonlinearity). */
nn_status nni_recurrent_build(nn_layer *layer, const nn_cfg *cfg, const nni_cell *cell,
                              int allow_nonlinearity, nn_error *err);
void nni_recurrent_forward(nn_layer *layer, const nn_pass *pass);
void nni_recurrent_backward(nn_layer *layer, const nn_pass *pass);
int64_t nni_recurrent_flops(const nn_layer *layer);
void nni_recurrent_destroy(nn_layer *layer);
void nni_recurrent_describe(const nn_layer *layer, char *buf, int size);
/* model/export_torch.c's Recurrent around torch.nn.RNN, LSTM or GRU (the type in capitals). */
void nni_recurrent_torch(const nn_layer *layer, char *buf, int size);

static inline float nni_sigmoidf(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

#endif
