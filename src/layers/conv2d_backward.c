/* conv2d's backward (the products and their plan: conv2d.c's outline): per sample, the
 * weight gradient's sums into the thread's (or unit's) slot and the input gradient; with
 * Winograd's products, a thread's run of samples at once; then the slots summed in a fixed
 * order. */
#include <omp.h>
#include <string.h>

#include "core/conv_shifted.h"
#include "core/gemm.h"
#include "core/gemm_bf16.h"
#include "core/im2col.h"
#include "core/prefetch.h"
#include "core/winograd.h"
#include "layers/activation.h"
#include "layers/conv2d_internal.h"

/* The weights of the input gradient's convolution, for every group:
 * turned[grp][c][o][kh - 1 - ki][kw - 1 - kj] = w[grp][o][c][ki][kj]. */
static void turn_weights(const conv2d *c, const float *w, float *turned)
{
    const int64_t C = c->geom.channels, O = c->group_out, kh = c->geom.kernel_h,
                  kw = c->geom.kernel_w, kk = kh * kw, size = O * c->col_rows;
    for (int64_t grp = 0; grp < c->groups; grp++)
        for (int64_t o = 0; o < O; o++)
            for (int64_t ci = 0; ci < C; ci++)
                for (int64_t k = 0; k < kk; k++)
                    turned[grp * size + (ci * O + o) * kk + kk - 1 - k] =
                        w[grp * size + (o * C + ci) * kk + k];
}

/* Whether the weight gradient runs turned, im2col(x) dy^T with the lowered rows written
 * from x (nni_gemm_bf16_flat_conv_weight_grad, AMX's path): AMX's A panels take x's runs as
 * they stand, where dy im2col(x)^T made the lowered matrix in float (im2row) and packed it
 * again (bench_step, 1 core of a Xeon with AMX, alternating: res_conv2's weight gradient
 * 407-466 -> 570-589 GFLOP/s per CPU-second, its backward 6.98-7.44 -> 6.01-6.23 ms, the
 * step 886-946 -> 965-1035 samples/s). Its sums go to the slot's du, planned for Winograd's
 * transformed sums, which these layers then do not use, and at least as large (points >=
 * kernel taps). */
static int weight_grad_turned(const conv2d *c, const nn_layer *layer)
{
    return layer->model->bf16 && nni_bf16_amx_chosen() && c->winograd &&
           !use_winograd(c, layer) && nni_conv_geom_flat(&c->geom);
}

/* dw += dy rows for one group, the rows (im2row of the channels-last x in slot->xt) made a
 * block of output rows at a time: a block stays in L2 from im2row to the product, where the
 * whole lowered matrix (1.8 MB for 64 channels 3x3 at 28x28) went out to L3 and back. Each
 * element of dw still sums its pixels in order, one FMA each: the same bits. */
static void weight_grad_blocked(const conv2d *c, const conv_slot *slot, const float *dyg,
                                float *dw, int bf16)
{
    nni_conv_geom part = c->geom;
    const int64_t out_w = c->geom.out_w;
    for (int64_t oy = 0; oy < c->geom.out_h; oy += c->dw_out_rows) {
        part.out_h = c->geom.out_h - oy < c->dw_out_rows ? c->geom.out_h - oy : c->dw_out_rows;
        part.pad_top = c->geom.pad_top - oy * c->geom.stride_h;
        nni_im2row(&part, slot->xt, slot->rows);
        nni_product_nn(bf16, c->group_out, c->col_rows, part.out_h * out_w, dyg + oy * out_w,
                       c->pixels, 1, slot->rows, c->col_rows, dw, c->col_rows, 1);
    }
}

/* dx += col2im(W^T dy) for one group, a block of whole input channels at a time: the block's
 * rows of the lowered gradient stay in L2 between the product that writes them and col2im
 * that reads them. Every element of dx still receives its terms in row order: the same bits. */
static void input_grad_blocked(const conv2d *c, const float *wg, const float *dyg, float *dcol,
                               float *dxg, int bf16)
{
    nni_conv_geom part = c->geom;
    const int64_t kk = kk_of(c);
    for (int64_t c0 = 0; c0 < c->geom.channels; c0 += c->dx_channels) {
        part.channels = c->geom.channels - c0 < c->dx_channels ? c->geom.channels - c0
                                                               : c->dx_channels;
        nni_product_nn(bf16, part.channels * kk, c->pixels, c->group_out, wg + c0 * kk, 1,
                       c->col_rows, dyg, c->pixels, dcol, c->pixels, 0);
        nni_col2im(&part, dcol, dxg + c0 * c->in_pixels);
    }
}

/* The per-sample work of backward: weight-gradient partial sums into the slot, input
 * gradient into dx (NULL: not needed). */
static void backward_sample(const conv2d *c, const conv_slot *slot, const float *w,
                            const float *turned, const float *x, const float *dy, float *dx,
                            int dx_accumulate, int weight_grad, int bias_grad, int bf16,
                            int dw_turned)
{
    const int64_t in_group = c->geom.channels * c->in_pixels;
    const int64_t out_group = c->group_out * c->pixels;
    const int64_t wg_size = c->group_out * c->col_rows;
    if (bias_grad)
        for (int64_t o = 0; o < c->out_c; o++)
            slot->db[o] += nni_layer_sum(dy + o * c->pixels, c->pixels);
    if (dx && !c->direct && !c->dx_flat && !dx_accumulate)
        memset(dx, 0, (size_t)c->in_size * sizeof *dx);
    /* A 1x1 layer's products read x 16 rows at a time (packing its panels for dW) and dx six
     * rows at a time (adding to it): the step's 1x1 backwards ran 6-11% faster with the two
     * brought in first. */
    if (c->direct && weight_grad)
        nni_prefetch_read(x, c->in_size);
    if (c->direct && dx)
        nni_prefetch_write(dx, c->in_size);
    for (int64_t grp = 0; grp < c->groups; grp++) {
        const float *dyg = dy + grp * out_group;
        if (weight_grad && c->shifted) {
            nni_conv_shifted_weight_grad(&c->geom, c->out_c, x, dyg, slot->lanes,
                                         slot->padded);
        } else if (weight_grad && dw_turned) {
            const nni_bf16_flat_conv lowered = {&c->geom, x + grp * in_group};
            nni_gemm_bf16_flat_conv_weight_grad(c->group_out, &lowered, dyg,
                                                slot->du + grp * c->col_rows * c->group_out,
                                                c->group_out);
        } else if (weight_grad && c->direct) {
            /* dy x^T, x read along its rows: the product turns a panel of x at a time in L1,
             * where a transposed copy of all of x cost a quarter of a 1x1 layer's backward
             * (64 -> 16 channels at 14x14). The same sums in the same order. */
            nni_product_nt(bf16, c->group_out, c->col_rows, c->pixels, dyg, c->pixels,
                           x + grp * in_group, c->in_pixels, slot->dw + grp * wg_size,
                           c->col_rows, 1);
        } else if (weight_grad) {
            /* x channels-last, then its receptive fields as rows. */
            nni_transpose(x + grp * in_group, c->geom.channels, c->in_pixels, c->in_pixels,
                          slot->xt, c->geom.channels);
            weight_grad_blocked(c, slot, dyg, slot->dw + grp * wg_size, bf16);
        }
        if (dx) {
            /* W^T: element (k, o) of group grp at w[o * K + k]. */
            const float *wg = w + grp * wg_size;
            float *dxg = dx + grp * in_group;
            if (c->direct) {
                nni_product_nn(bf16, c->col_rows, c->pixels, c->group_out, wg, 1, c->col_rows,
                               dyg, c->pixels, dxg, c->pixels, dx_accumulate);
            } else if (c->dx_flat && bf16) {
                const nni_bf16_flat_conv lowered = {&c->dx_geom, dyg};
                nni_gemm_bf16_flat_conv(c->geom.channels, turned + grp * wg_size,
                                        dx_col_rows(c), &lowered, dxg, dx_accumulate);
            } else if (c->dx_flat) {
                nni_conv_flat_product(&c->dx_geom, c->geom.channels, turned + grp * wg_size,
                                      dyg, dxg, dx_accumulate);
            } else {
                input_grad_blocked(c, wg, dyg, slot->dcol, dxg, bf16);
            }
        }
    }
}

/* The weights a flat input gradient reads (NULL otherwise): turned around, and with Winograd
 * also transformed, into *dx_u. */
static float *input_grad_weights(const conv2d *c, const nn_layer *layer, int dx_wanted,
                                 int threads, float **dx_u)
{
    if (!dx_wanted || !c->dx_flat)
        return NULL;
    float *workspace = nni_layer_workspace(layer);
    float *turned = turned_weights(c, workspace);
    turn_weights(c, nni_layer_param(layer, 0), turned);
    if (use_winograd(c, layer)) {
        *dx_u = winograd_weights(c, workspace);
        nni_conv2d_transform_weights(c, &c->dx_geom, c->geom.channels, turned, *dx_u, threads);
    }
    return turned;
}

/* dy of sample n: with a fused activation, first made from the activation's output gradient
 * (dy = f'(y before, y after) times it), while the sample's values are in cache. relu's
 * derivative is read from relu's output (> 0 exactly where y is), which every pass writes:
 * the training forwards of the shifted planes and of Winograd's products leave y out. */
static const float *sample_dy(const conv2d *c, const nn_layer *layer, int64_t n)
{
    const int64_t at = n * c->out_size;
    if (c->activation) {
        const float *before = nni_activation_is_relu(c->activation) ? c->activation->out
                                                                     : layer->out;
        nni_activation_apply_backward(c->activation, before + at, c->activation->out + at,
                                      c->activation->dout + at, layer->dout + at, c->out_size,
                                      0);
    }
    return layer->dout + at;
}

/* A thread's (or unit's) weight-gradient sums from zero: with Winograd, the transformed sums,
 * with shifted planes their lane sums, turned (weight_grad_turned) the sums with the outputs
 * last (finish_weight_grad turns any of them into the slot's dw). */
static void start_weight_grad(const conv2d *c, const conv_slot *slot, int winograd,
                              int turned)
{
    if (turned)
        memset(slot->du, 0, (size_t)(c->col_rows * c->out_c) * sizeof *slot->du);
    else if (winograd)
        memset(slot->du, 0,
               (size_t)(c->points * c->out_c * c->geom.channels) * sizeof *slot->du);
    else if (c->shifted)
        memset(slot->lanes, 0, (size_t)c->lane_floats * sizeof *slot->lanes);
    else
        memset(slot->dw, 0, (size_t)(c->out_c * c->col_rows) * sizeof *slot->dw);
}

/* slot->dw (im2row's (kh, kw, in) column order) from the turned sums or the transformed sums
 * of each group, or from the shifted planes' lane sums; the products over im2row sum into it
 * directly. */
static void finish_weight_grad(const conv2d *c, const conv_slot *slot, int winograd,
                               int turned)
{
    const int64_t C = c->geom.channels, kk = c->geom.kernel_h * c->geom.kernel_w;
    for (int64_t grp = 0; turned && grp < c->groups; grp++) {
        /* du holds the group's (in, kh, kw) x outputs; dw outputs x (kh, kw, in). */
        const float *sums = slot->du + grp * c->col_rows * c->group_out;
        float *dw = slot->dw + grp * c->group_out * c->col_rows;
        for (int64_t o = 0; o < c->group_out; o++)
            for (int64_t ci = 0; ci < C; ci++)
                for (int64_t k = 0; k < kk; k++)
                    dw[o * c->col_rows + k * C + ci] = sums[(ci * kk + k) * c->group_out + o];
    }
    if (!winograd && c->shifted)
        nni_conv_shifted_weight_grad_finish(&c->geom, c->out_c, slot->lanes, slot->dw,
                                            c->col_rows);
    for (int64_t grp = 0; winograd && grp < c->groups; grp++)
        nni_winograd_weight_grad_finish(&c->geom, c->group_out,
                                        slot->du + grp * c->points * c->group_out * C,
                                        slot->dw + grp * c->group_out * c->col_rows,
                                        c->col_rows, C, 1);
}

/* The slot's weight gradient from the (kh, kw, in) column order of im2row into torch's
 * (in, kh, kw), stored or added at dw; the bias gradient likewise. */
static void store_slot_grads(const conv2d *c, const conv_slot *slot, float *dw, float *db,
                             int accumulate)
{
    const int64_t C = c->geom.channels, kk = c->geom.kernel_h * c->geom.kernel_w;
    for (int64_t o = 0; dw && o < c->out_c; o++)
        for (int64_t ci = 0; ci < C; ci++)
            for (int64_t k = 0; k < kk; k++) {
                const float g = slot->dw[o * c->col_rows + k * C + ci];
                float *dst = dw + o * c->col_rows + ci * kk + k;
                *dst = accumulate ? *dst + g : g;
            }
    for (int64_t o = 0; db && o < c->out_c; o++)
        db[o] = accumulate ? db[o] + slot->db[o] : slot->db[o];
}

/* Backward of samples lo .. hi - 1 with Winograd's products into the slot: dy made sample by
 * sample, then the weight-gradient sums (finished into slot->dw) and the input gradient of
 * the whole run together. A layer whose input gradient is not a flat convolution (no
 * padding `same`) makes it per sample as without Winograd. */
static void backward_run_winograd(const conv2d *c, nn_layer *layer, const conv_slot *slot,
                                  const float *turned, const float *dx_u, int64_t lo,
                                  int64_t hi, int weight_grad, int bias_grad)
{
    const float *x_all = layer->inputs[0]->out;
    float *dx_all = layer->inputs[0]->dout;
    const int dx_accumulate = layer->input_accumulate[0];
    const int64_t C = c->geom.channels, in_group = C * c->in_pixels;
    const int64_t out_group = c->group_out * c->pixels;
    for (int64_t n = lo; n < hi; n++) {
        const float *dy = sample_dy(c, layer, n);
        for (int64_t o = 0; bias_grad && o < c->out_c; o++)
            slot->db[o] += nni_layer_sum(dy + o * c->pixels, c->pixels);
    }
    const float *dy = layer->dout + lo * c->out_size;
    for (int64_t grp = 0; grp < c->groups; grp++) {
        const int64_t u_at = grp * c->points * c->group_out * C;
        if (weight_grad)
            nni_winograd_weight_grad(&c->geom, c->group_out, hi - lo,
                                     x_all + lo * c->in_size + grp * in_group, c->in_size,
                                     dy + grp * out_group, c->out_size, slot->du + u_at,
                                     layer->model->bf16, slot->winograd);
        if (dx_all && dx_u) {
            const nni_winograd_out out = {.y = dx_all + lo * c->in_size + grp * in_group,
                                          .stride = c->in_size, .accumulate = dx_accumulate};
            nni_winograd_conv(&c->dx_geom, C, dx_u + u_at, hi - lo, dy + grp * out_group,
                              c->out_size, &out, layer->model->bf16, slot->winograd);
        }
    }
    for (int64_t n = lo; dx_all && !dx_u && n < hi; n++)
        backward_sample(c, slot, nni_layer_param(layer, 0), turned, x_all + n * c->in_size,
                        layer->dout + n * c->out_size, dx_all + n * c->in_size, dx_accumulate,
                        0, 0, layer->model->bf16, 0);
    if (weight_grad)
        finish_weight_grad(c, slot, 1, 0);
}

/* train.reproducible: bitwise: the threads take whole units of pass->unit_rows samples, and
 * each unit's gradients, summed over its samples in order, go to the unit's slot
 * (nn/layer.h): the same bits for any thread count and any split of the batch. */
static void backward_units(const conv2d *c, nn_layer *layer, const nn_pass *pass)
{
    const float *w = nni_layer_param(layer, 0);
    float *dw = nni_layer_param_frozen(layer, 0) ? NULL : nni_layer_grad(layer, 0);
    float *db = c->has_bias && !nni_layer_param_frozen(layer, 1) ? nni_layer_grad(layer, 1)
                                                                 : NULL;
    float *dx_all = layer->inputs[0]->dout;
    const int dx_accumulate = layer->input_accumulate[0];
    float *workspace = nni_layer_workspace(layer);
    float *dx_u = NULL;
    const int64_t u = pass->unit_rows, units = (pass->batch + u - 1) / u;
    const int threads = nni_conv_call_threads(c->threads, units);
    float *turned = input_grad_weights(c, layer, dx_all != NULL, threads, &dx_u);
    const int wino = use_winograd(c, layer), dw_turned = weight_grad_turned(c, layer);
    const float *x_all = layer->inputs[0]->out;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        const conv_slot slot = slot_at(c, workspace, omp_get_thread_num());
#pragma omp for schedule(static)
        for (int64_t j = 0; j < units; j++) {
            if (dw)
                start_weight_grad(c, &slot, wino, dw_turned);
            if (db)
                memset(slot.db, 0, (size_t)c->out_c * sizeof *slot.db);
            const int64_t end = (j + 1) * u < pass->batch ? (j + 1) * u : pass->batch;
            if (wino)
                backward_run_winograd(c, layer, &slot, turned, dx_u, j * u, end, dw != NULL,
                                      db != NULL);
            for (int64_t n = j * u; !wino && n < end; n++)
                backward_sample(c, &slot, w, turned, x_all + n * c->in_size,
                                sample_dy(c, layer, n),
                                dx_all ? dx_all + n * c->in_size : NULL, dx_accumulate,
                                dw != NULL, db != NULL, layer->model->bf16, dw_turned);
            if (dw && !wino)
                finish_weight_grad(c, &slot, 0, dw_turned);
            const int64_t at = (pass->unit_slot + j) * pass->unit_stride;
            store_slot_grads(c, &slot, dw ? dw + at : NULL, db ? db + at : NULL, 0);
        }
    }
}

static void backward_batch(nn_layer *layer, const nn_pass *pass)
{
    const conv2d *c = layer->priv;
    const nni_conv_geom *g = &c->geom;
    const float *w = nni_layer_param(layer, 0);
    const int weight_grad = !nni_layer_param_frozen(layer, 0);
    const int bias_grad = c->has_bias && !nni_layer_param_frozen(layer, 1);
    float *dx_all = layer->inputs[0]->dout;
    const int dx_accumulate = layer->input_accumulate[0];
    float *workspace = nni_layer_workspace(layer);
    float *dx_u = NULL;
    const int threads = nni_conv_call_threads(c->threads, pass->batch);
    float *turned = input_grad_weights(c, layer, dx_all != NULL, threads, &dx_u);
    const int wino = use_winograd(c, layer), dw_turned = weight_grad_turned(c, layer);
    const float *x_all = layer->inputs[0]->out;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        const conv_slot slot = slot_at(c, workspace, omp_get_thread_num());
        if (weight_grad)
            start_weight_grad(c, &slot, wino, dw_turned);
        if (bias_grad)
            memset(slot.db, 0, (size_t)c->out_c * sizeof *slot.db);
        if (wino) {
            const int t = omp_get_thread_num(), nt = omp_get_num_threads();
            backward_run_winograd(c, layer, &slot, turned, dx_u, run_start(pass->batch, t, nt),
                                  run_start(pass->batch, t + 1, nt), weight_grad, bias_grad);
        } else {
#pragma omp for schedule(static)
            for (int64_t n = 0; n < pass->batch; n++)
                backward_sample(c, &slot, w, turned, x_all + n * c->in_size,
                                sample_dy(c, layer, n),
                                dx_all ? dx_all + n * c->in_size : NULL, dx_accumulate,
                                weight_grad, bias_grad, layer->model->bf16, dw_turned);
            if (weight_grad)
                finish_weight_grad(c, &slot, 0, dw_turned);
        }
    }
    /* Sum the threads' partials in thread order; the weight gradient changes from the
     * (kh, kw, in) column order of im2row to torch's (in, kh, kw). The threads share the
     * outputs (each element's sum is the same) rather than one summing while the others
     * wait (the residual+inception net's fastest 2-thread steps: 717-734 samples/s before,
     * 726-736 after, within the noise). Thread t's slot starts t x slot_floats after
     * thread 0's. */
    const int acc = pass->grad_accumulate;
    if (weight_grad) {
        float *dw = nni_layer_grad(layer, 0);
        const float *partials = slot_at(c, workspace, 0).dw;
        const int64_t C = g->channels, kk = g->kernel_h * g->kernel_w;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
        for (int64_t o = 0; o < c->out_c; o++)
            for (int64_t ci = 0; ci < C; ci++)
                for (int64_t k = 0; k < kk; k++) {
                    float sum = 0.0f;
                    for (int t = 0; t < threads; t++)
                        sum += partials[t * c->slot_floats + o * c->col_rows + k * C + ci];
                    float *dst = dw + o * c->col_rows + ci * kk + k;
                    *dst = acc ? *dst + sum : sum;
                }
    }
    if (bias_grad) {
        float *db = nni_layer_grad(layer, 1);
        for (int64_t o = 0; o < c->out_c; o++) {
            float sum = 0.0f;
            for (int t = 0; t < threads; t++)
                sum += slot_at(c, workspace, t).db[o];
            db[o] = acc ? db[o] + sum : sum;
        }
    }
}

void nni_conv2d_backward(nn_layer *layer, const nn_pass *pass)
{
    if (pass->unit_rows)
        backward_units(layer->priv, layer, pass);
    else
        backward_batch(layer, pass);
}
