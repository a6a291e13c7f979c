/* What every harness of tests/fuzz shares: a private scratch directory, a reader that takes
 * bytes off the front of the fuzzer's input, and the checks that turn a broken promise into a
 * crash the fuzzer reports (an error that is not one clear line, a half-written file). */
#ifndef NN_FUZZ_COMMON_H
#define NN_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "nn/error.h"

/* A directory of this process's own (created once, under $TMPDIR or /tmp). */
const char *fuzz_scratch_dir(void);
/* "<scratch>/<name>" into buf. */
void fuzz_scratch_path(char *buf, size_t size, const char *name);
/* Writes size bytes to path (aborts when it cannot: the harness is broken, not the code). */
void fuzz_write_file(const char *path, const void *data, size_t size);
/* Removes path if it exists. */
void fuzz_remove(const char *path);

/* Bytes taken off the front of the input; past its end every read gives zeros. */
typedef struct fuzz_reader {
    const uint8_t *data;
    size_t size;
} fuzz_reader;
uint8_t fuzz_u8(fuzz_reader *r);
uint32_t fuzz_u32(fuzz_reader *r);
/* Up to max bytes (fewer at the end of the input); *len receives how many. */
const uint8_t *fuzz_bytes(fuzz_reader *r, size_t max, size_t *len);

/* A failed call must leave one line: a known status, a non-empty message without a newline.
 * Aborts (the fuzzer's crash) otherwise; `what` names the call. */
void fuzz_check_error(nn_status status, const nn_error *err, const char *what);
/* Aborts when path exists (a failed import or write must leave nothing behind). */
void fuzz_check_absent(const char *path, const char *what);

#endif
