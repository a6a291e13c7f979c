/* Structure-aware HDF5 inputs for the loaders: the fuzzer's bytes choose operations (create a
 * group, a dataset or an attribute at a name from the harness's vocabulary, with a dtype,
 * rank, shape, storage layout and contents of its choosing; delete a link) that are applied
 * through the HDF5 library to a file, optionally on top of a valid file the harness wrote
 * first. The loaders then see files HDF5 itself accepts but whose layout nntrain must not
 * trust: wrong dtypes, ranks, sizes, shapes declaring far more than the file stores. */
#ifndef NN_FUZZ_H5_BUILDER_H
#define NN_FUZZ_H5_BUILDER_H

#include "fuzz_common.h"

typedef struct fuzz_h5_vocabulary {
    const char *const *objects; /* link paths: "train", "train/x", "meta/history", ... */
    int n_objects;
    const char *const *attributes; /* attribute names: "scale", "epoch", ... */
    int n_attributes;
} fuzz_h5_vocabulary;

/* Opens path (which must exist as an HDF5 file, or is created when absent) and applies
 * operations from `in` until it is used up or 32 operations are done. */
void fuzz_h5_apply(const char *path, fuzz_reader *in, const fuzz_h5_vocabulary *words);

#endif
