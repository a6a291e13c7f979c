/* Config reading and geometry shared by the windowed layers (conv2d, maxpool, avgpool):
 * kernel/stride/dilation pairs and padding `same` / `valid` / explicit. */
#ifndef NN_CONV_UTIL_H
#define NN_CONV_UTIL_H

#include "core/im2col.h"
#include "layers/layer_internal.h"

enum { NN_PAD_VALID, NN_PAD_SAME, NN_PAD_EXPLICIT };

typedef struct nni_conv_padding {
    int mode;
    int64_t top, bottom, left, right;
} nni_conv_padding;

/* The layer takes exactly one (channels, height, width) input; the error names the layer,
 * its input and the input's shape. */
nn_status nni_conv_single_image_input(nn_layer *layer, const nn_cfg *cfg, nn_error *err);

/* `key: 3` or `key: [3, 5]` (height, width), each >= 1. def == 0 makes the key required. */
nn_status nni_conv_read_pair(const nn_layer *layer, const nn_cfg *cfg, const char *key,
                             int64_t def, int64_t out[2], nn_error *err);

/* `padding: same | valid | p | [ph, pw] | [top, bottom, left, right]` (default valid).
 * Needs g's input size, kernel, stride and dilation; fills g->pad_top/pad_left and
 * g->out_h/out_w, and fails when the output would be empty. */
nn_status nni_conv_read_padding(const nn_layer *layer, const nn_cfg *cfg, nni_conv_geom *g,
                                nni_conv_padding *pad, nn_error *err);

/* Whether layer is a conv2d whose products run as Winograd's (core/winograd.h,
 * train.winograd), for the start-up lines. */
int nni_conv2d_winograd(const nn_layer *layer);

/* Threads for one call over `batch` samples: as many as are set (nni_threads), planned for
 * at build (`planned`, whose workspace slots exist) and useful. */
int nni_conv_call_threads(int planned, int64_t batch);

/* "same(1,1,1,1)", "valid", "2,2,1,1". */
void nni_conv_format_padding(const nni_conv_padding *pad, char *buf, size_t size);

#endif
