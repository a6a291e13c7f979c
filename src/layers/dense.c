/* Dense (fully connected) layer: y = x W^T + b, with W[out][in] as in torch.nn.Linear.
 * Inputs of any shape are read as flat feature vectors (an implicit flatten), except
 * sequences (steps, features): there the layer applies to every step alike (torch.nn.Linear
 * on the last dimension, Keras' Dense on a 3-D tensor) and outputs (steps, units); the steps
 * are then simply more rows of the same products.
 *
 * Gradients: dW = dy^T x, db = column sums of dy, dx = dy W. The GEMM for dx is skipped
 * when the input needs no gradient (the first layer), the largest saving of an MLP step.
 *
 * The products are nni_gemm_nt (forward) and nni_gemm_nn (dW, dx): core/gemm.c says why
 * nntrain's own by default. Threads: the forward and dx split the batch rows, dW and db split
 * the output units; each thread runs the single-threaded product on its share (core/threads.h
 * says why). Each output element sums its terms in the same order however nntrain's product
 * is cut, so the thread count does not change the results. OpenBLAS's products
 * (train.gemm: openblas) round by the cut, so there the rows and units are cut into a fixed
 * number of pieces (nni_gemm_pieces) and each thread takes whole pieces: the same calls for
 * any thread count up to that number. With train.precision: bf16 the three go through
 * core/gemm_bf16.h instead (nntrain's kernels only).
 *
 * An elementwise activation that is the layer's only consumer (`activation: relu`) runs
 * inside the layer: the forward applies it to each thread's share of y as soon as the share
 * is computed, and the backward turns the activation's output gradient into y's on each
 * thread's rows before the products. That saves a pass over memory and two thread-team
 * meetings per layer and step. */
#include <omp.h>
#include <string.h>

#include "core/gemm.h"
#include "core/gemm_backend.h"
#include "core/gemm_bf16.h"
#include "core/threads.h"
#include "layers/activation.h"
#include "layers/layer_util.h"

typedef struct dense {
    int64_t in, out;
    int64_t steps; /* rows per sample: the steps of a sequence input, else 1 */
    int has_bias;
    const nn_layer *activation; /* fused (fuse_activation), or NULL */
} dense;

static const char *const dense_keys[] = {"units", "bias", NULL};

static nn_status dense_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    if (layer->n_inputs != 1)
        return nn_cfg_fail(err, cfg, "dense layer '%s' takes exactly one input", layer->name);
    dense *d = calloc(1, sizeof *d);
    if (!d)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    layer->priv = d;
    int64_t units = 0;
    nn_status st = nn_cfg_read_int(cfg, "units", 0, &units, err);
    if (!st)
        st = nn_cfg_read_bool(cfg, "bias", 1, &d->has_bias, err);
    if (st)
        return st;
    if (units <= 0)
        return nn_cfg_fail(err, nn_cfg_get(cfg, "units") ? nn_cfg_get(cfg, "units") : cfg,
                           "dense layer '%s' needs 'units' >= 1", layer->name);
    const nn_shape in = layer->inputs[0]->out_shape;
    d->steps = in.ndim == 2 ? in.dim[0] : 1;
    d->in = nni_layer_in_size(layer, 0) / d->steps;
    d->out = units;
    layer->out_shape = nn_shape_1d(units);
    if (in.ndim == 2) {
        layer->out_shape.ndim = 2;
        layer->out_shape.dim[0] = d->steps;
        layer->out_shape.dim[1] = units;
    }
    int64_t wdims[2] = {d->out, d->in};
    nni_layer_add_param(layer, "weight", 2, wdims, d->in, d->out, NULL, 0);
    if (d->has_bias)
        nni_layer_add_param(layer, "bias", 1, &d->out, d->in, d->out, &layer->bias_init,
                            NN_PARAM_NO_DECAY);
    return NN_OK;
}

/* Below this many multiply-adds a product is done before a second thread has woken up. */
enum { DENSE_MIN_PARALLEL_WORK = 1 << 15 };

static int dense_threads(const dense *d, int64_t batch)
{
    if (batch * d->in * d->out < DENSE_MIN_PARALLEL_WORK)
        return 1;
    return nni_threads();
}

/* The forward splits the batch rows, or the output units when the weights outweigh the
 * batch (more units than rows: the first layer of an MLP). Output units keep each thread on
 * its own rows of W, the rows it also updates, so the other core never holds a copy that
 * the optimizer's writes must invalidate; on virtual machines such a cross-core transfer
 * costs hundreds of nanoseconds a cache line. */
static void dense_forward(nn_layer *layer, const nn_pass *pass)
{
    const dense *d = layer->priv;
    const int64_t n = pass->batch * d->steps;
    const float *x = layer->inputs[0]->out;
    const float *w = nni_layer_param(layer, 0);
    const float *b = d->has_bias ? nni_layer_param(layer, 1) : NULL;
    float *y = layer->out;
    const int threads = dense_threads(d, n), pieces = nni_gemm_pieces(threads);
    const int by_units = pieces > 1 && d->out > n;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        int64_t piece, pieces_end;
        nni_thread_share(pieces, omp_get_thread_num(), threads, &piece, &pieces_end);
        for (; piece < pieces_end; piece++) {
            int64_t rows = 0, rows_end = n, units = 0, units_end = d->out;
            if (by_units)
                nni_thread_share(d->out, (int)piece, pieces, &units, &units_end);
            else
                nni_thread_share(n, (int)piece, pieces, &rows, &rows_end);
            /* Start y from the bias and let the product add x W^T on top. */
            for (int64_t r = rows; b && r < rows_end; r++)
                memcpy(y + r * d->out + units, b + units,
                       (size_t)(units_end - units) * sizeof *y);
            if (rows_end > rows && units_end > units)
                nni_product_nt(layer->model->bf16, rows_end - rows, units_end - units, d->in,
                               x + rows * d->in, d->in, w + units * d->in, d->in,
                               y + rows * d->out + units, d->out, b != NULL);
            if (d->activation && !by_units)
                nni_activation_apply(d->activation, y + rows * d->out, d->activation->out +
                                     rows * d->out, (rows_end - rows) * d->out);
            for (int64_t r = 0; d->activation && by_units && r < n; r++)
                nni_activation_apply(d->activation, y + r * d->out + units,
                                     d->activation->out + r * d->out + units,
                                     units_end - units);
        }
    }
}

/* Rows of a unit's dW per product call (float products, slots): one tile of rows of the
 * AVX-512 product, two of the AVX2 one (MR, core/gemm.c). A unit's dW is a product of few
 * terms (its rows) written to a slot that is cold (written once a step, read back by the
 * unit tree's sums), so its cost is the writing. One call over all rows writes each panel
 * of 32 columns down every row of dW: as many store streams as rows (128 for the CNN's fc1),
 * more than the hardware prefetcher follows, and every store waits on its line. A call per
 * 12 rows runs 12 streams, each along its rows. Each element still sums its terms in order:
 * the same bits. (Packed bf16 products stay one call: they pack the unit's rows per call.) */
#define UNIT_DW_ROWS 12

/* train.reproducible: bitwise: whether dW goes straight to the nodes of the units' tree
 * (nn/layer.h; float products only). */
static int unit_tree(const nn_pass *pass, int bf16)
{
    return pass->unit_nodes && !bf16;
}

/* train.reproducible: bitwise: dW and db of output units [first, end) for each unit of
 * pass->unit_rows samples on its own, into the unit's slot (nn/layer.h); dW, when the pass
 * asks, as the nodes of the units' tree instead. */
static void unit_grads(const nn_layer *layer, const nn_pass *pass, const float *x,
                       const float *dy, float *dw, float *db, int64_t first, int64_t end)
{
    const dense *d = layer->priv;
    const int bf16 = layer->model->bf16;
    const int64_t rows_per_call = bf16 ? end - first : UNIT_DW_ROWS;
    if (dw && end > first && unit_tree(pass, bf16)) {
        nni_gemm_nn_units(end - first, d->in, pass->batch * d->steps, pass->unit_rows * d->steps,
                          pass->unit_ids, dy + first, 1, d->out, x, d->in,
                          pass->unit_nodes + (dw - layer->model->grad_data) + first * d->in,
                          pass->unit_stride, d->in);
        dw = NULL; /* done */
    }
    for (int64_t j = 0; j * pass->unit_rows < pass->batch; j++) {
        const int64_t r0 = j * pass->unit_rows * d->steps;
        const int64_t r1 = (j + 1) * pass->unit_rows < pass->batch
                               ? (j + 1) * pass->unit_rows * d->steps : pass->batch * d->steps;
        const int64_t at = (pass->unit_slot + j) * pass->unit_stride;
        for (int64_t o = first; dw && o < end; o += rows_per_call) {
            const int64_t rows = end - o < rows_per_call ? end - o : rows_per_call;
            nni_product_nn(bf16, rows, d->in, r1 - r0, dy + r0 * d->out + o, 1, d->out,
                           x + r0 * d->in, d->in, dw + at + o * d->in, d->in, 0);
        }
        if (db)
            nni_layer_column_sums(dy + r0 * d->out, r1 - r0, d->out, first, end, db + at, 0);
    }
}

static void dense_backward(nn_layer *layer, const nn_pass *pass)
{
    const dense *d = layer->priv;
    const int64_t n = pass->batch * d->steps;
    const float *x = layer->inputs[0]->out;
    const float *dy = layer->dout;
    const float *w = nni_layer_param(layer, 0);
    float *dw = nni_layer_param_frozen(layer, 0) ? NULL : nni_layer_grad(layer, 0);
    float *db = d->has_bias && !nni_layer_param_frozen(layer, 1) ? nni_layer_grad(layer, 1) : NULL;
    float *dx = layer->inputs[0]->dout;
    const int threads = dense_threads(d, n), pieces = nni_gemm_pieces(threads);
    if (dw && pass->unit_rows && unit_tree(pass, layer->model->bf16))
        pass->unit_fused[layer->param_ids[0]] = 1;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        const int t = omp_get_thread_num();
        int64_t first, end, piece, pieces_end;
        if (d->activation) {
            /* dy = f'(y before, y after) * (the activation's output gradient), on the rows
             * the next layer's dx wrote on this thread; every row is needed below. */
            const nn_layer *act = d->activation;
            nni_thread_share(n, t, threads, &first, &end);
            nni_activation_apply_backward(act, layer->out + first * d->out,
                                          act->out + first * d->out, act->dout + first * d->out,
                                          layer->dout + first * d->out, (end - first) * d->out,
                                          0);
#pragma omp barrier
        }
        nni_thread_share(pieces, t, threads, &piece, &pieces_end);
        for (int64_t p = piece; p < pieces_end; p++) {
            nni_thread_share(d->out, (int)p, pieces, &first, &end);
            if (pass->unit_rows)
                unit_grads(layer, pass, x, dy, dw, db, first, end);
            else if (dw && end > first)
                nni_product_nn(layer->model->bf16, end - first, d->in, n, dy + first, 1,
                               d->out, x, d->in, dw + first * d->in, d->in,
                               pass->grad_accumulate);
            if (db && !pass->unit_rows)
                nni_layer_column_sums(dy, n, d->out, first, end, db, pass->grad_accumulate);
        }
        for (int64_t p = piece; p < pieces_end; p++) {
            nni_thread_share(n, (int)p, pieces, &first, &end);
            if (dx && end > first)
                nni_product_nn(layer->model->bf16, end - first, d->in, d->out,
                               dy + first * d->out, d->out, 1, w, d->in, dx + first * d->in,
                               d->in, layer->input_accumulate[0]);
        }
    }
}

static int dense_fuse_activation(nn_layer *layer, nn_layer *activation)
{
    dense *d = layer->priv;
    d->activation = activation;
    return 1;
}

static int64_t dense_flops(const nn_layer *layer)
{
    const dense *d = layer->priv;
    return 2 * d->steps * d->in * d->out;
}

static void dense_describe(const nn_layer *layer, char *buf, int size)
{
    const dense *d = layer->priv;
    snprintf(buf, (size_t)size, "units=%lld%s", (long long)d->out, d->has_bias ? "" : " no-bias");
}

static void dense_torch(const nn_layer *layer, char *buf, int size)
{
    const dense *d = layer->priv;
    snprintf(buf, (size_t)size, "Dense(%lld, %lld, bias=%s%s)", (long long)d->in,
             (long long)d->out, d->has_bias ? "True" : "False",
             layer->inputs[0]->out_shape.ndim == 2 ? ", per_step=True" : "");
}

const nn_layer_ops nni_dense_ops = {
    .type = "dense",
    .keys = dense_keys,
    .params = "units bias=true",
    .help = "y = x W^T + b (inputs of any shape are flattened; on (steps, features) "
            "sequences it applies per step)",
    .build = dense_build,
    .forward = dense_forward,
    .backward = dense_backward,
    .flops = dense_flops,
    .destroy = nni_layer_free_priv,
    .describe = dense_describe,
    .torch_module = dense_torch,
    .fuse_activation = dense_fuse_activation,
    .unit_grads = 1,
};
