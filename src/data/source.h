/* The config's view of a dataset file: which arrays hold x and y (data.x, data.y), how the
 * samples are laid out (data.layout), and whether they fit the model's input. */
#ifndef NN_DATA_SOURCE_H
#define NN_DATA_SOURCE_H

#include "nn/config.h"
#include "nn/data.h"
#include "nn/tensor.h"

/* data.x and data.y (default x, y) and data.layout: nchw (default) | nhwc. The names point
 * into the config, which must outlive src. */
nn_status nni_dataset_source_read(const nn_cfg *data, nn_dataset_source *src, nn_error *err);

/* The samples of ds against the model input: equal sizes are required, and when both are
 * images (C, H, W) every dimension must agree. A mismatch that a channels-last file (or a
 * channels-first file read as channels-last) explains says so. `where` is model.input's
 * config node. */
nn_status nni_dataset_check_input(const nn_dataset *ds, nn_shape input,
                                  const nn_dataset_source *src, const nn_cfg *where,
                                  nn_error *err);

#endif
