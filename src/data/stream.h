/* Streaming a split's samples from its files (`data.cache: none`): the rows of each batch
 * are read when the batch is needed, so memory holds a batch or two of samples and HDF5's
 * chunk cache, never the split. The targets stay in memory (a few bytes a row), so
 * stratified validation, label noise and the data fingerprint work as usual. */
#ifndef NNI_DATA_STREAM_H
#define NNI_DATA_STREAM_H

#include <stdint.h>

#include "data/file_list.h"
#include "nn/data.h"
#include "nn/error.h"

typedef struct nni_stream nni_stream;

/* Opens the sample array of `split` in every file for batches of up to `capacity` rows of
 * ds (loaded with targets_only: its layout, scale, offset and first row). */
nn_status nni_stream_open(const nni_file_list *files, const char *split,
                          const nn_dataset_source *src, const nn_dataset *ds, int64_t capacity,
                          nni_stream **out, nn_error *err);
void nni_stream_close(nni_stream *s); /* waits for a read in flight */

/* Rows rows[0..count) of ds (indices into ds, any order, repeats allowed) as float32 into x
 * (count x sample_size), exactly as nni_dataset_gather_x would give them from memory. The
 * rows are read in file order, one HDF5 read per run of consecutive rows. Takes the batch read ahead by
 * nni_stream_read_ahead when it is these rows. Errors (NN_ERR_DATA) name the file and row. */
nn_status nni_stream_read(nni_stream *s, const int64_t *rows, int64_t count, float *x,
                          nn_error *err);
/* Starts reading rows[0..count) on a thread of its own, to be taken by the next
 * nni_stream_read. The rows are copied. */
void nni_stream_read_ahead(nni_stream *s, const int64_t *rows, int64_t count);
/* Waits for the read ahead to finish (its outcome is kept for nni_stream_read). The HDF5
 * library is not built thread-safe: no other HDF5 call may run while a read is in flight, so
 * the trainer waits before its own file work (checkpoints, logs). */
void nni_stream_wait(nni_stream *s);
/* data.shuffle_pixels (an nni_pixel_shuffle mode) applied to every row read, keyed by seed
 * and the row's place in the file as when the split is held in memory. */
nn_status nni_stream_shuffle_pixels(nni_stream *s, int mode, uint64_t seed, nn_error *err);
/* MiB the stream holds: its two staging buffers and the chunk caches (two chunks of each
 * compressed array, none for chunks stored plain). */
double nni_stream_buffer_mib(const nni_stream *s);

#endif
