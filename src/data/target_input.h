/* `data.target`: where a run's targets come from. `y` (the default) reads them from the
 * file; `input` makes every sample its own target (an autoencoder reconstructs its input;
 * with `train.augment` the noise reaches the input only, since the targets are the clean
 * values gathered before augmentation: a denoising autoencoder). */
#ifndef NNI_DATA_TARGET_INPUT_H
#define NNI_DATA_TARGET_INPUT_H

#include "nn/config.h"
#include "nn/data.h"

/* Reads `target:` of the data map (may be NULL): *from_input = 1 for `input`, 0 for `y`. */
nn_status nni_data_read_target(const nn_cfg *data, int *from_input, nn_error *err);

/* Replaces ds's targets by its samples, as floats after scale and offset (n x sample_size
 * values); the labels are dropped. */
nn_status nni_dataset_target_from_input(nn_dataset *ds, nn_error *err);

/* The same for a streamed split (data.cache: none), whose samples are not in memory: ds
 * takes float targets of sample_size values a row but holds none (labels and targets freed);
 * each batch's targets are copied from its samples as they are read (nni_data_targets_from_input). */
void nni_dataset_target_from_streamed_input(nn_dataset *ds);

#endif
