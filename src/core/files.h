/* File-system helpers shared by every module that writes files.
 *
 * A file written whole (checkpoint, dataset, metrics.csv, config.yaml, trials.csv, a report)
 * goes through one protocol: write "<path>.tmp", fsync it, rename it over <path>, fsync the
 * directory. A reader then finds the old file or the new one, never a part of either, even
 * after a crash or a full disk; the previous good file is only replaced by a complete one.
 * The temporary files in flight are registered so that a signal handler that ends the
 * process at once can remove them (nni_atomic_pending_path). Files that grow by appends
 * instead are cut back to their last complete line when an append fails (nni_append_fd). */
#ifndef NN_CORE_FILES_H
#define NN_CORE_FILES_H

#include <stddef.h>

#include "nn/error.h"

/* mkdir -p: creates `path` and its missing parents. 0 on success (also when it exists),
 * -1 with errno set otherwise. */
int nni_make_dirs(const char *path);

typedef struct nni_atomic_file {
    char path[1024];     /* the file being replaced */
    char tmp_path[1040]; /* where it is written until the commit */
    int slot;            /* registration for the signal handler, -1 when none */
} nni_atomic_file;

/* Starts writing `path`: fills f->tmp_path (the caller creates and writes that file, e.g.
 * with H5Fcreate) and registers it. */
nn_status nni_atomic_begin(nni_atomic_file *f, const char *path, nn_error *err);
/* After the temporary file is written and closed: fsync, rename over the target, fsync the
 * directory. On failure the temporary file is removed and the target is untouched. */
nn_status nni_atomic_commit(nni_atomic_file *f, nn_error *err);
/* Gives up: removes the temporary file. */
void nni_atomic_abort(nni_atomic_file *f);

/* The whole contents at once, by the same protocol. */
nn_status nni_write_file_atomic(const char *path, const void *data, size_t size, nn_error *err);

/* The temporary files being written now (i = 0, 1, ... until NULL), for a signal handler:
 * async-signal-safe. */
const char *nni_atomic_pending_path(int i);

/* Appends `size` bytes at the end of the file open as `fd` (named `path` in the message),
 * for the files that grow a line at a time (metrics.csv, metrics-steps.csv, a search's
 * journal). When the write fails (disk full, file-size limit, I/O error) the file is cut
 * back to the length it had, so it still holds whole lines only, and err says which file
 * and why. */
nn_status nni_append_fd(int fd, const char *path, const void *data, size_t size, nn_error *err);

/* fsync of a file or directory by path (directories that cannot be synced are accepted). */
nn_status nni_sync_path(const char *path, int is_directory, nn_error *err);

#endif
