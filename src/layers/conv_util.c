/* Shared config reading, output geometry and thread counts of the convolutions and the
 * pooling layers. */
#include "layers/conv_util.h"

#include <stdio.h>
#include <strings.h>

#include "core/threads.h"

nn_status nni_conv_single_image_input(nn_layer *layer, const nn_cfg *cfg, nn_error *err)
{
    if (layer->n_inputs != 1)
        return nn_cfg_fail(err, cfg, "%s layer '%s' takes exactly one input", layer->ops->type,
                           layer->name);
    const nn_layer *input = layer->inputs[0];
    if (input->out_shape.ndim != 3) {
        char shape[64];
        return nn_cfg_fail(err, cfg, "%s layer '%s' needs a (channels, height, width) input, "
                           "but its input '%s' has shape %s", layer->ops->type, layer->name,
                           input->name, nn_shape_format(input->out_shape, shape, sizeof shape));
    }
    return NN_OK;
}

nn_status nni_conv_read_pair(const nn_layer *layer, const nn_cfg *cfg, const char *key,
                             int64_t def, int64_t out[2], nn_error *err)
{
    const nn_cfg *node = nn_cfg_get(cfg, key);
    if (!node) {
        if (def == 0)
            return nn_cfg_fail(err, cfg, "%s layer '%s' needs '%s' (e.g. 3 or [3, 5])",
                               layer->ops->type, layer->name, key);
        out[0] = out[1] = def;
        return NN_OK;
    }
    int64_t values[2];
    int count = 2;
    nn_status st = nn_cfg_read_ints(cfg, key, values, &count, err);
    if (st)
        return st;
    if (count < 1 || count > 2)
        return nn_cfg_fail(err, node, "expected one number or [height, width]");
    out[0] = values[0];
    out[1] = count == 2 ? values[1] : values[0];
    if (out[0] < 1 || out[1] < 1)
        return nn_cfg_fail(err, node, "%s layer '%s': '%s' must be >= 1", layer->ops->type,
                           layer->name, key);
    return NN_OK;
}

/* ceil(a / b) for a >= 0, b > 0. */
static int64_t ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

nn_status nni_conv_read_padding(const nn_layer *layer, const nn_cfg *cfg, nni_conv_geom *g,
                                nni_conv_padding *pad, nn_error *err)
{
    const nn_cfg *node = nn_cfg_get(cfg, "padding");
    const int64_t span_h = g->dilation_h * (g->kernel_h - 1) + 1;
    const int64_t span_w = g->dilation_w * (g->kernel_w - 1) + 1;
    *pad = (nni_conv_padding){.mode = NN_PAD_VALID};
    const char *text = node && nn_cfg_kind_of(node) == NN_CFG_SCALAR ? nn_cfg_scalar(node)
                                                                     : NULL;
    if (text && strcasecmp(text, "same") == 0) {
        /* TensorFlow's rule, which torch's padding='same' matches at stride 1. */
        pad->mode = NN_PAD_SAME;
        int64_t out_h = ceil_div(g->in_h, g->stride_h), out_w = ceil_div(g->in_w, g->stride_w);
        int64_t total_h = (out_h - 1) * g->stride_h + span_h - g->in_h;
        int64_t total_w = (out_w - 1) * g->stride_w + span_w - g->in_w;
        total_h = total_h > 0 ? total_h : 0;
        total_w = total_w > 0 ? total_w : 0;
        pad->top = total_h / 2;
        pad->bottom = total_h - pad->top;
        pad->left = total_w / 2;
        pad->right = total_w - pad->left;
    } else if (node && !(text && strcasecmp(text, "valid") == 0)) {
        int64_t values[4];
        int count = 4;
        nn_status st = nn_cfg_read_ints(cfg, "padding", values, &count, err);
        if (st || count == 3 || count < 1)
            return nn_cfg_fail(err, node, "%s layer '%s': padding is same, valid, a number, "
                               "[height, width] or [top, bottom, left, right]",
                               layer->ops->type, layer->name);
        pad->mode = NN_PAD_EXPLICIT;
        if (count == 1)
            pad->top = pad->bottom = pad->left = pad->right = values[0];
        else if (count == 2) {
            pad->top = pad->bottom = values[0];
            pad->left = pad->right = values[1];
        } else {
            pad->top = values[0];
            pad->bottom = values[1];
            pad->left = values[2];
            pad->right = values[3];
        }
        if (pad->top < 0 || pad->bottom < 0 || pad->left < 0 || pad->right < 0)
            return nn_cfg_fail(err, node, "%s layer '%s': padding must be >= 0",
                               layer->ops->type, layer->name);
    }
    g->pad_top = pad->top;
    g->pad_left = pad->left;
    const int64_t padded_h = g->in_h + pad->top + pad->bottom;
    const int64_t padded_w = g->in_w + pad->left + pad->right;
    if (padded_h < span_h || padded_w < span_w) {
        char shape[64];
        return nn_cfg_fail(err, cfg, "%s layer '%s': a %lldx%lld window (dilation included) "
                           "does not fit its input '%s' of shape %s with padding %lld,%lld,%lld,"
                           "%lld", layer->ops->type, layer->name, (long long)span_h,
                           (long long)span_w, layer->inputs[0]->name,
                           nn_shape_format(layer->inputs[0]->out_shape, shape, sizeof shape),
                           (long long)pad->top, (long long)pad->bottom, (long long)pad->left,
                           (long long)pad->right);
    }
    g->out_h = (padded_h - span_h) / g->stride_h + 1;
    g->out_w = (padded_w - span_w) / g->stride_w + 1;
    return NN_OK;
}

void nni_conv_format_padding(const nni_conv_padding *pad, char *buf, size_t size)
{
    const char *mode = pad->mode == NN_PAD_SAME ? "same" : pad->mode == NN_PAD_VALID ? "valid"
                                                                                      : "";
    if (pad->mode == NN_PAD_VALID)
        snprintf(buf, size, "valid");
    else if (pad->top == pad->bottom && pad->left == pad->right)
        snprintf(buf, size, "%s%s%lld,%lld%s", mode, *mode ? "(" : "", (long long)pad->top,
                 (long long)pad->left, *mode ? ")" : "");
    else
        snprintf(buf, size, "%s%s%lld,%lld,%lld,%lld%s", mode, *mode ? "(" : "",
                 (long long)pad->top, (long long)pad->bottom, (long long)pad->left,
                 (long long)pad->right, *mode ? ")" : "");
}

int nni_conv_call_threads(int planned, int64_t batch)
{
    int threads = nni_threads();
    threads = threads < planned ? threads : planned;
    return batch < threads ? (int)(batch > 0 ? batch : 1) : threads;
}
