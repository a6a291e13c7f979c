/* Errors are values: every library call that can fail returns an nn_status and fills an
 * nn_error with one line saying what went wrong and where (file, key, line, layer, rank).
 * The command line prints it once and maps the status to the exit code. */
#ifndef NN_ERROR_H
#define NN_ERROR_H

/* Status values double as the process exit codes of the command line. */
typedef enum nn_status {
    NN_OK = 0,
    NN_ERR_OTHER = 1,   /* I/O, out of memory, MPI, anything else */
    NN_ERR_CONFIG = 2,  /* usage or configuration error */
    NN_ERR_DATA = 3,    /* bad data file or checkpoint */
    NN_ERR_NUMERIC = 4, /* non-finite loss or gradient */
} nn_status;

typedef struct nn_error {
    nn_status status;
    char msg[1024];
} nn_error;

/* Fills err (when not NULL) and returns status, so callers can write
 * `return nn_fail(err, NN_ERR_DATA, "%s: ...", path);`. */
nn_status nn_fail(nn_error *err, nn_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends context ("while loading x: ") to an error already set. */
nn_status nn_fail_prefix(nn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void nn_error_clear(nn_error *err);

#endif
