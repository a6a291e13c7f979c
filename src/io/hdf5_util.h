/* HDF5 plumbing shared by datasets, checkpoints, initializers and predictions.
 *
 * HDF5 prints its error stack to stderr by default; nntrain reports one line of its own
 * instead. Every function that calls HDF5 silences the stack for the call (quiet_begin /
 * quiet_end) and, where the reason matters, asks for the innermost error's text. */
#ifndef NN_IO_HDF5_UTIL_H
#define NN_IO_HDF5_UTIL_H

#include <hdf5.h>

#include "nn/error.h"

typedef struct nni_h5_quiet {
    H5E_auto2_t func;
    void *data;
} nni_h5_quiet;

nni_h5_quiet nni_h5_quiet_begin(void);
void nni_h5_quiet_end(nni_h5_quiet saved);

/* What HDF5 says went wrong, from its error stack. Call it right after the failing call:
 * the next HDF5 API call clears the stack. */
typedef struct nni_h5_detail {
    char text[160];
} nni_h5_detail;
nni_h5_detail nni_h5_last_error(void);

/* Files written whole (checkpoints, datasets) are built in memory and reach the disk through
 * one plain atomic write (core/files.h): HDF5 never sees a failing disk, which in HDF5 1.10
 * leaves a half-closed file that crashes or loops at exit and reports no reason, while the
 * plain write names it (no space, file too large).
 * nni_h5_memory_access: file access properties for such a file (from `base`, which may be
 * H5P_DEFAULT); create it under a name that does not exist on disk. */
hid_t nni_h5_memory_access(hid_t base);
/* Closes `file` (always) and writes its image atomically to path. */
nn_status nni_h5_write_image(hid_t *file, const char *path, nn_error *err);

/* 1 when the file stores the values a numeric dataset's shape declares (raw, or compressed
 * at most as far as deflate can: about 1:1032), else 0. Readers ask before allocating what
 * the shape says: a few hundred bytes of header must not be able to declare terabytes
 * (HDF5 reads unwritten chunks as fill values). Non-numeric datasets pass. */
int nni_h5_dataset_stores_shape(hid_t dset);

/* The number of values of a dataset or attribute with exactly `rank` dimensions (0: a
 * scalar, which has one value); -1 for any other rank. dims (room for rank values, may be
 * NULL) receives the shape. */
long long nni_h5_values_of_rank(hid_t space, int rank, hsize_t *dims);

/* Closes any HDF5 identifier and sets it to H5I_INVALID_HID (no-op when already invalid). */
void nni_h5_close(hid_t *id);

#endif
