/* One live job per directory: a run directory or a search directory is locked (flock on
 * DIR/.lock) while a job writes into it, so a second job aimed at it is refused instead of
 * interleaving its files with the first's. The kernel drops the lock when the process ends,
 * however it ends, so a crashed job leaves nothing to clean up. */
#ifndef NNI_CORE_DIR_LOCK_H
#define NNI_CORE_DIR_LOCK_H

#include "nn/error.h"

/* Takes the lock of dir (which exists) for this process: *fd holds it until
 * nni_dir_unlock. `what` names the directory in the message ("run directory"). A lock held
 * by another process is an NN_ERR_CONFIG error naming the holder's pid and host. */
nn_status nni_dir_lock(const char *dir, const char *what, int *fd, nn_error *err);

/* Releases the lock (fd -1: nothing held) and sets *fd to -1. */
void nni_dir_unlock(int *fd);

#endif
