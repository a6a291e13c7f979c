/* Batch normalization over the batch (dense N x F input: per feature) or over the batch and
 * the pixels (N x C x H x W: per channel), as torch.nn.BatchNorm1d / BatchNorm2d.
 *
 *   y = (x - mean) / sqrt(var + eps) * weight + bias
 *
 * Training uses the batch mean and biased variance and updates the running statistics the
 * torch way: running = (1 - momentum) * running + momentum * batch, with the unbiased
 * variance (M / (M - 1), M values per channel; a channel of one value keeps the biased 0).
 * Evaluation uses the running statistics. weight/bias are the learned scale and shift
 * (torch's names), running_mean/running_var are state (checkpointed, not trained).
 *
 * `sync: true` normalizes with the statistics of the whole group's batch: the per-channel
 * sums (and in backward the two per-channel gradient sums) are summed over the ranks, so N
 * ranks compute what one rank with the whole batch would.
 *
 * Statistics: each channel plane is reduced in two passes while it is in cache (its sum,
 * then the squared deviations from its own mean), and planes are combined in double as
 * sum and sum of squares, sum(x^2) = M2_plane + n mean_plane^2; this avoids the
 * cancellation of a one-pass sum of squares when |mean| >> std.
 *
 * Gradients in training (xc = x - mean, a = weight / sqrt(var + eps), sums over the batch
 * and, with sync, the group):
 *   dbias = sum dy,  dweight = sum dy xc / sqrt(var + eps)   (local sums: the trainer sums
 *                                                             parameter gradients itself)
 *   dx = a dy - a/M sum(dy) - a/M (var + eps)^-1 xc sum(dy xc).
 * In evaluation mean and var are constants: dx = a dy. */
#include <math.h>
#include <string.h>

#include "core/threads.h"
#include "layers/layer_util.h"
#include "model/init_internal.h"
#include "nn/parallel.h"
#include "parallel/exact_sum.h"

typedef struct batchnorm {
    int64_t channels, spatial; /* spatial = H * W, or 1 for dense input */
    double momentum, eps;
    int sync;
    /* Statistics of the last training forward, for backward. */
    double *mean, *invstd;
    double count;
    double *sums; /* 2 * channels + 1 reduction buffer */
    float *coef;  /* 4 * channels: per-channel factors of the elementwise passes */
    /* train.reproducible: bitwise: per-unit sums (capacity x (2 channels + 1)) and the
     * exact sum's scratch (2 channels + 1 each) */
    double *unit_sums, *maxes, *factors;
    int64_t *fixed;
} batchnorm;

enum { P_WEIGHT, P_BIAS, P_RUNNING_MEAN, P_RUNNING_VAR };

static const char *const batchnorm_keys[] = {"momentum", "eps", "sync", NULL};

static void batchnorm_destroy(nn_layer *layer)
{
    batchnorm *b = layer->priv;
    if (b) {
        free(b->mean);
        free(b->invstd);
        free(b->sums);
        free(b->coef);
        free(b->unit_sums);
        free(b->maxes);
        free(b->factors);
        free(b->fixed);
    }
    nni_layer_free_priv(layer);
}

static nn_status batchnorm_build(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    if (layer->n_inputs != 1)
        return nn_cfg_fail(err, cfg, "batchnorm layer '%s' takes exactly one input",
                           layer->name);
    batchnorm *b = calloc(1, sizeof *b);
    if (!b)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    layer->priv = b;
    nn_status st;
    if ((st = nn_cfg_read_double(cfg, "momentum", 0.1, &b->momentum, err)) ||
        (st = nn_cfg_read_double(cfg, "eps", 1e-5, &b->eps, err)) ||
        (st = nn_cfg_read_bool(cfg, "sync", 0, &b->sync, err)))
        return st;
    /* Per-rank running statistics are averaged over ranks before evaluation and saving. */
    if (!b->sync)
        layer->model->unsynced_state = 1;
    if (!(b->momentum >= 0 && b->momentum <= 1))
        return nn_cfg_fail(err, nn_cfg_get(cfg, "momentum"), "batchnorm layer '%s': momentum "
                           "must be in [0, 1], got %g", layer->name, b->momentum);
    if (!(b->eps > 0 && isfinite(b->eps)))
        return nn_cfg_fail(err, nn_cfg_get(cfg, "eps"), "batchnorm layer '%s': eps must be "
                           "> 0, got %g", layer->name, b->eps);
    const nn_shape in = layer->inputs[0]->out_shape;
    if (in.ndim != 1 && in.ndim != 3) {
        char shape[64];
        return nn_cfg_fail(err, cfg, "batchnorm layer '%s' normalizes (features) or (channels, "
                           "height, width), but its input '%s' has shape %s", layer->name,
                           layer->inputs[0]->name, nn_shape_format(in, shape, sizeof shape));
    }
    b->channels = in.dim[0];
    b->spatial = in.ndim == 3 ? in.dim[1] * in.dim[2] : 1;
    b->mean = calloc((size_t)b->channels, sizeof *b->mean);
    b->invstd = calloc((size_t)b->channels, sizeof *b->invstd);
    b->sums = calloc((size_t)(2 * b->channels + 1), sizeof *b->sums);
    b->coef = calloc((size_t)(4 * b->channels), sizeof *b->coef);
    const int64_t width = 2 * b->channels + 1;
    const int64_t capacity = layer->model->capacity > 0 ? layer->model->capacity : 1;
    b->unit_sums = calloc((size_t)(capacity * width), sizeof *b->unit_sums);
    b->maxes = calloc((size_t)width, sizeof *b->maxes);
    b->factors = calloc((size_t)width, sizeof *b->factors);
    b->fixed = calloc((size_t)width, sizeof *b->fixed);
    if (!b->mean || !b->invstd || !b->sums || !b->coef || !b->unit_sums || !b->maxes ||
        !b->factors || !b->fixed)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    layer->out_shape = in;

    nn_init ones, zeros;
    nni_init_named("constant", &ones, NULL);
    ones.a = 1.0;
    nni_init_named("zeros", &zeros, NULL);
    const unsigned learned = NN_PARAM_NO_DECAY | NN_PARAM_NORM;
    nni_layer_add_param(layer, "weight", 1, &b->channels, b->channels, b->channels, &ones,
                        learned);
    nni_layer_add_param(layer, "bias", 1, &b->channels, b->channels, b->channels, &zeros,
                        learned);
    nni_layer_add_param(layer, "running_mean", 1, &b->channels, b->channels, b->channels, &zeros,
                        NN_PARAM_STATE);
    nni_layer_add_param(layer, "running_var", 1, &b->channels, b->channels, b->channels, &ones,
                        NN_PARAM_STATE);
    return NN_OK;
}

/* The group to reduce over, or NULL when statistics stay local. */
static const nn_comm *sync_comm(const batchnorm *b, const nn_pass *pass)
{
    const nn_comm *comm = pass->comm;
    return b->sync && comm && comm->size > 1 ? comm : NULL;
}

/* Threads for the per-channel and per-plane loops of spatial inputs (dense inputs are
 * small and stay on one thread). */
static int spatial_threads(const batchnorm *b, int64_t batch)
{
    if (b->spatial == 1 || batch * b->channels * b->spatial < 32768)
        return 1;
    int threads = nni_threads();
    return threads < b->channels ? threads : (int)b->channels;
}

/* Per plane: d = sum (x - center), q = sum (x - center)^2, with 16 partial sums. */
static void plane_moments(const float *restrict x, int64_t n, float center, float *d, float *q)
{
    float acc_d[16] = {0}, acc_q[16] = {0};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) {
            float v = x[i + j] - center;
            acc_d[j] += v;
            acc_q[j] += v * v;
        }
    float sd = 0.0f, sq = 0.0f;
    for (; i < n; i++) {
        float v = x[i] - center;
        sd += v;
        sq += v * v;
    }
    for (int j = 0; j < 16; j++) {
        sd += acc_d[j];
        sq += acc_q[j];
    }
    *d = sd;
    *q = sq;
}

/* sums[c] = sum of x, sums[C + c] = sum of x^2 over the local batch of channel c. Each
 * plane is taken around its own mean p (sum x = S p + d, sum x^2 = q + 2 p d + S p^2 with d
 * and q small), so the doubles carry the large parts exactly and float only the small. */
static void channel_sums(const batchnorm *b, const float *x, int64_t batch, double *sums)
{
    const int64_t C = b->channels, S = b->spatial;
    double *sum = sums, *sumsq = sums + C;
    memset(sums, 0, (size_t)(2 * C) * sizeof *sums);
    if (S == 1) {
        for (int64_t n = 0; n < batch; n++) {
            const float *row = x + n * C;
            for (int64_t c = 0; c < C; c++) {
                sum[c] += row[c];
                sumsq[c] += (double)row[c] * row[c];
            }
        }
        return;
    }
    /* Channels over threads; each channel sums its planes in batch order, so the result
     * does not depend on the thread count. */
    const int threads = spatial_threads(b, batch);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t c = 0; c < C; c++)
        for (int64_t n = 0; n < batch; n++) {
            const float *plane = x + (n * C + c) * S;
            const float p = nni_layer_sum(plane, S) / (float)S;
            float d, q;
            plane_moments(plane, S, p, &d, &q);
            sum[c] += (double)S * p + d;
            sumsq[c] += (double)q + 2.0 * p * d + (double)S * p * p;
        }
}

/* y = (x - center[c]) * scale[c] + shift[c]: subtracting first keeps y accurate when the
 * mean is large against the spread (x * scale + (shift - center * scale) would not). */
static void normalize(const batchnorm *b, const float *x, float *y, int64_t batch,
                      const float *center, const float *scale, const float *shift)
{
    const int64_t C = b->channels, S = b->spatial;
    if (S == 1) {
        for (int64_t n = 0; n < batch; n++) {
            const float *xr = x + n * C;
            float *yr = y + n * C;
            for (int64_t c = 0; c < C; c++)
                yr[c] = (xr[c] - center[c]) * scale[c] + shift[c];
        }
        return;
    }
    const int threads = spatial_threads(b, batch);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t k = 0; k < batch * C; k++) {
        const int64_t c = k % C;
        const float *xp = x + k * S;
        float *yp = y + k * S;
        const float m = center[c], a = scale[c], s = shift[c];
        for (int64_t i = 0; i < S; i++)
            yp[i] = (xp[i] - m) * a + s;
    }
}

/* Rows [first, end) of unit j of the pass (train.reproducible: bitwise). */
static void unit_range(const nn_pass *pass, int64_t j, int64_t *first, int64_t *end)
{
    *first = j * pass->unit_rows;
    *end = *first + pass->unit_rows < pass->batch ? *first + pass->unit_rows : pass->batch;
}

/* Every unit's sums of its own rows, then their exact sum over the units of the whole
 * group (with sync), into b->sums: the same bits however the units are spread over ranks.
 * A sum that is not finite becomes NaN, which the loss then reports. */
static void combine_units(batchnorm *b, const nn_pass *pass, int64_t units, int width)
{
    const nn_comm *comm = sync_comm(b, pass);
    if (nni_exact_sum_doubles(comm, b->unit_sums, units, width, pass->units_total, b->maxes,
                              b->factors, b->fixed, b->sums))
        for (int i = 0; i < width; i++)
            b->sums[i] = NAN;
}

static void unit_statistics(batchnorm *b, const nn_pass *pass, const float *x)
{
    const int64_t C = b->channels, S = b->spatial, width = 2 * C + 1;
    const int64_t units = (pass->batch + pass->unit_rows - 1) / pass->unit_rows;
    for (int64_t j = 0; j < units; j++) {
        int64_t first, end;
        unit_range(pass, j, &first, &end);
        double *sums = b->unit_sums + j * width;
        channel_sums(b, x + first * C * S, end - first, sums);
        sums[2 * C] = (double)((end - first) * S);
    }
    combine_units(b, pass, units, (int)width);
}

static void batchnorm_forward(nn_layer *layer, const nn_pass *pass)
{
    batchnorm *b = layer->priv;
    const int64_t C = b->channels;
    const float *x = layer->inputs[0]->out;
    const float *weight = nni_layer_param(layer, P_WEIGHT);
    const float *bias = nni_layer_param(layer, P_BIAS);
    float *running_mean = nni_layer_param(layer, P_RUNNING_MEAN);
    float *running_var = nni_layer_param(layer, P_RUNNING_VAR);
    float *center = b->coef, *scale = b->coef + C, *shift = b->coef + 2 * C;

    if (pass->training && pass->unit_rows) {
        unit_statistics(b, pass, x);
    } else if (pass->training) {
        channel_sums(b, x, pass->batch, b->sums);
        b->sums[2 * C] = (double)(pass->batch * b->spatial);
        const nn_comm *comm = sync_comm(b, pass);
        if (comm)
            nn_comm_sum_doubles(comm, b->sums, 2 * C + 1);
    }
    if (pass->training) {
        const double M = b->sums[2 * C];
        b->count = M;
        /* No rows at all (a rank whose share of a tiny last batch is empty, without sync):
         * nothing to normalize and no statistics to learn from. */
        if (M <= 0)
            return;
        const double m = b->momentum, unbias = M > 1 ? M / (M - 1) : 1.0;
        for (int64_t c = 0; c < C; c++) {
            double mean = b->sums[c] / M;
            double var = b->sums[C + c] / M - mean * mean;
            var = var > 0 ? var : 0;
            b->mean[c] = mean;
            b->invstd[c] = 1.0 / sqrt(var + b->eps);
            center[c] = (float)mean;
            scale[c] = (float)(weight[c] * b->invstd[c]);
            shift[c] = bias[c];
            running_mean[c] = (float)((1 - m) * running_mean[c] + m * mean);
            running_var[c] = (float)((1 - m) * running_var[c] + m * var * unbias);
        }
    } else {
        for (int64_t c = 0; c < C; c++) {
            center[c] = running_mean[c];
            scale[c] = (float)(weight[c] / sqrt((double)running_var[c] + b->eps));
            shift[c] = bias[c];
        }
    }
    normalize(b, x, layer->out, pass->batch, center, scale, shift);
}

/* sums[c] = sum of dy, sums[C + c] = sum of dy (x - mean) over the batch's rows of channel
 * c, each channel in row order. */
static void gradient_sums(const batchnorm *b, const float *x, const float *dy, int64_t batch,
                          const double *mean, double *sums)
{
    const int64_t C = b->channels, S = b->spatial;
    double *sum_dy = sums, *sum_dy_xc = sums + C;
    memset(sums, 0, (size_t)(2 * C) * sizeof *sums);
    if (S == 1) {
        for (int64_t n = 0; n < batch; n++) {
            const float *xr = x + n * C, *dyr = dy + n * C;
            for (int64_t c = 0; c < C; c++) {
                sum_dy[c] += dyr[c];
                sum_dy_xc[c] += (double)dyr[c] * (xr[c] - mean[c]);
            }
        }
        return;
    }
    const int threads = spatial_threads(b, batch);
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t c = 0; c < C; c++)
        for (int64_t n = 0; n < batch; n++) {
            const int64_t at = (n * C + c) * S;
            sum_dy[c] += nni_layer_sum(dy + at, S);
            sum_dy_xc[c] += nni_layer_dot_dev(dy + at, x + at, S, (float)mean[c]);
        }
}

/* train.reproducible: bitwise: each unit's weight and bias gradients into its slot, and the
 * exact sums over every unit of the group (with sync) into b->sums for the input gradient. */
static void unit_gradients(nn_layer *layer, const nn_pass *pass, const float *x,
                           const float *dy)
{
    batchnorm *b = layer->priv;
    const int64_t C = b->channels, S = b->spatial, width = 2 * C + 1;
    const int64_t units = (pass->batch + pass->unit_rows - 1) / pass->unit_rows;
    float *dweight = nni_layer_param_frozen(layer, P_WEIGHT) ? NULL
                                                             : nni_layer_grad(layer, P_WEIGHT);
    float *dbias = nni_layer_param_frozen(layer, P_BIAS) ? NULL : nni_layer_grad(layer, P_BIAS);
    for (int64_t j = 0; j < units; j++) {
        int64_t first, end;
        unit_range(pass, j, &first, &end);
        double *sums = b->unit_sums + j * width;
        gradient_sums(b, x + first * C * S, dy + first * C * S, end - first, b->mean, sums);
        sums[2 * C] = 0;
        const int64_t at = (pass->unit_slot + j) * pass->unit_stride;
        for (int64_t c = 0; dweight && c < C; c++)
            dweight[at + c] = (float)(sums[C + c] * b->invstd[c]);
        for (int64_t c = 0; dbias && c < C; c++)
            dbias[at + c] = (float)sums[c];
    }
    if (layer->inputs[0]->dout)
        combine_units(b, pass, units, (int)width);
}

/* The weight and bias gradients of the local batch, and into b->sums the per-channel sums
 * of dy and dy (x - mean) for the input gradient (over the group with sync). */
static void batch_gradients(nn_layer *layer, const nn_pass *pass, const float *x,
                            const float *dy)
{
    batchnorm *b = layer->priv;
    const int64_t C = b->channels;
    const double *sum_dy = b->sums, *sum_dy_xc = b->sums + C;
    gradient_sums(b, x, dy, pass->batch, b->mean, b->sums);
    const int acc = pass->grad_accumulate;
    if (!nni_layer_param_frozen(layer, P_WEIGHT)) {
        float *dweight = nni_layer_grad(layer, P_WEIGHT);
        for (int64_t c = 0; c < C; c++) {
            float g = (float)(sum_dy_xc[c] * b->invstd[c]);
            dweight[c] = acc ? dweight[c] + g : g;
        }
    }
    if (!nni_layer_param_frozen(layer, P_BIAS)) {
        float *dbias = nni_layer_grad(layer, P_BIAS);
        for (int64_t c = 0; c < C; c++)
            dbias[c] = acc ? dbias[c] + (float)sum_dy[c] : (float)sum_dy[c];
    }
    /* Local sums (the trainer sums parameter gradients); dx needs the group's. */
    const nn_comm *comm = pass->training ? sync_comm(b, pass) : NULL;
    if (comm && layer->inputs[0]->dout)
        nn_comm_sum_doubles(comm, b->sums, 2 * C);
}

static void batchnorm_backward(nn_layer *layer, const nn_pass *pass)
{
    batchnorm *b = layer->priv;
    const int64_t C = b->channels, S = b->spatial, batch = pass->batch;
    const float *x = layer->inputs[0]->out;
    const float *dy = layer->dout;
    const float *weight = nni_layer_param(layer, P_WEIGHT);
    const float *running_mean = nni_layer_param(layer, P_RUNNING_MEAN);
    const float *running_var = nni_layer_param(layer, P_RUNNING_VAR);
    double *mean = b->mean, *invstd = b->invstd;
    if (!pass->training)
        for (int64_t c = 0; c < C; c++) {
            mean[c] = running_mean[c];
            invstd[c] = 1.0 / sqrt((double)running_var[c] + b->eps);
        }

    double *sum_dy = b->sums, *sum_dy_xc = b->sums + C;
    const int threads = spatial_threads(b, batch);
    if (pass->training && pass->unit_rows)
        unit_gradients(layer, pass, x, dy);
    else
        batch_gradients(layer, pass, x, dy);
    float *dx = layer->inputs[0]->dout;
    if (!dx)
        return;
    /* dx = a dy + k1 (x - mean) + k0 per channel. */
    float *a = b->coef, *k1 = b->coef + C, *k0 = b->coef + 2 * C, *center = b->coef + 3 * C;
    for (int64_t c = 0; c < C; c++) {
        const double scale = weight[c] * invstd[c];
        a[c] = (float)scale;
        center[c] = (float)mean[c];
        k1[c] = pass->training
                    ? (float)(-scale * invstd[c] * invstd[c] * sum_dy_xc[c] / b->count)
                    : 0.0f;
        k0[c] = pass->training ? (float)(-scale * sum_dy[c] / b->count) : 0.0f;
    }
    const int accumulate = layer->input_accumulate[0];
    if (S == 1) {
        for (int64_t n = 0; n < batch; n++) {
            const float *xr = x + n * C, *dyr = dy + n * C;
            float *dxr = dx + n * C;
            if (accumulate)
                for (int64_t c = 0; c < C; c++)
                    dxr[c] += a[c] * dyr[c] + k1[c] * (xr[c] - center[c]) + k0[c];
            else
                for (int64_t c = 0; c < C; c++)
                    dxr[c] = a[c] * dyr[c] + k1[c] * (xr[c] - center[c]) + k0[c];
        }
        return;
    }
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
    for (int64_t k = 0; k < batch * C; k++) {
        const int64_t c = k % C;
        const float *xp = x + k * S, *dyp = dy + k * S;
        float *dxp = dx + k * S;
        const float ac = a[c], k1c = k1[c], k0c = k0[c], mc = center[c];
        if (accumulate)
            for (int64_t i = 0; i < S; i++)
                dxp[i] += ac * dyp[i] + k1c * (xp[i] - mc) + k0c;
        else
            for (int64_t i = 0; i < S; i++)
                dxp[i] = ac * dyp[i] + k1c * (xp[i] - mc) + k0c;
    }
}

static int64_t batchnorm_flops(const nn_layer *layer)
{
    return 2 * nni_layer_out_size(layer);
}

static void batchnorm_describe(const nn_layer *layer, char *buf, int size)
{
    const batchnorm *b = layer->priv;
    snprintf(buf, (size_t)size, "%s momentum=%g eps=%g%s", b->spatial > 1 ? "2d" : "1d",
             b->momentum, b->eps, b->sync ? " sync" : "");
}

static void batchnorm_torch(const nn_layer *layer, char *buf, int size)
{
    const batchnorm *b = layer->priv;
    snprintf(buf, (size_t)size, "nn.BatchNorm%dd(%lld, eps=%.17g, momentum=%.17g)",
             layer->out_shape.ndim == 3 ? 2 : 1, (long long)b->channels, b->eps, b->momentum);
}

const nn_layer_ops nni_batchnorm_ops = {
    .type = "batchnorm",
    .keys = batchnorm_keys,
    .params = "momentum=0.1 eps=1e-5 sync=false",
    .help = "normalization over the batch (and the pixels of (C, H, W) inputs), as torch "
            "BatchNorm1d/2d; parameters weight, bias; state running_mean, running_var; sync "
            "normalizes with the statistics of the whole group's batch",
    .build = batchnorm_build,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .flops = batchnorm_flops,
    .destroy = batchnorm_destroy,
    .describe = batchnorm_describe,
    .torch_module = batchnorm_torch,
    .unit_grads = 1,
};
