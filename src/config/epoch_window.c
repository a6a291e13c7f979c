/* Epoch windows (src/config/epoch_window.h). */
#include "config/epoch_window.h"

nni_epoch_window nni_epoch_window_always(void)
{
    return (nni_epoch_window){0, INT64_MAX};
}

nn_status nni_epoch_window_read(const nn_cfg *map, const char *key, nni_epoch_window fallback,
                                nni_epoch_window *window, nn_error *err)
{
    *window = fallback;
    const nn_cfg *node = map ? nn_cfg_get(map, key) : NULL;
    if (!node)
        return NN_OK;
    int64_t bounds[3];
    int count = 3;
    nn_error ignored = {0};
    /* The reader's own message would say only "expected an integer"; one line that shows
     * the form and the numbering tells more. */
    if (nn_cfg_kind_of(node) != NN_CFG_SEQ || nn_cfg_read_ints(map, key, bounds, &count, &ignored) ||
        count != 2)
        return nn_cfg_fail(err, node, "expected [first, end) as two whole epoch numbers "
                           "counted from 0, e.g. [0, 5] for the first five epochs");
    if (bounds[0] < 0 || bounds[1] < bounds[0])
        return nn_cfg_fail(err, node, "[%lld, %lld) is not an epoch window: need "
                           "0 <= first <= end (epochs counted from 0)",
                           (long long)bounds[0], (long long)bounds[1]);
    window->first = bounds[0];
    window->end = bounds[1];
    return NN_OK;
}

int nni_epoch_window_contains(nni_epoch_window window, int64_t epoch)
{
    return epoch >= window.first && epoch < window.end;
}

int nni_epoch_window_empty(nni_epoch_window window)
{
    return window.end <= window.first;
}
