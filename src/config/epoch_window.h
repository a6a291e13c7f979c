/* Epoch windows (`epochs: [a, b]`): a regularizer or a deficit that acts only during some
 * epochs of training, as in the critical-period experiments (Achille et al.; Golatkar et
 * al., NeurIPS 2019). Epochs are counted from 0, as train.schedule's milestones count them:
 * [a, b) is on from the step that begins epoch a (after a epochs are done) until epoch b
 * begins, so it covers rows a + 1 .. b of metrics.csv (which numbers epochs from 1) and
 * `[0, 5]` is the first five epochs. a = b is an empty window (never on). */
#ifndef NNI_CONFIG_EPOCH_WINDOW_H
#define NNI_CONFIG_EPOCH_WINDOW_H

#include <stdint.h>

#include "nn/config.h"
#include "nn/error.h"

typedef struct nni_epoch_window {
    int64_t first, end; /* [first, end); {0, INT64_MAX} when no window was given */
} nni_epoch_window;

/* Every epoch: what an option without `epochs:` does. */
nni_epoch_window nni_epoch_window_always(void);
/* Reads map's `key` (absent: *window = fallback). Anything but two whole numbers
 * 0 <= a <= b is one config error at the key. */
nn_status nni_epoch_window_read(const nn_cfg *map, const char *key, nni_epoch_window fallback,
                                nni_epoch_window *window, nn_error *err);
int nni_epoch_window_contains(nni_epoch_window window, int64_t epoch);
/* Whether the window is on in no epoch at all. */
int nni_epoch_window_empty(nni_epoch_window window);

#endif
