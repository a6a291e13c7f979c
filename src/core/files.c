/* mkdir -p, the atomic whole-file write and the append that leaves whole lines (see
 * files.h). */
#include "core/files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int nni_make_dirs(const char *path)
{
    char partial[PATH_MAX];
    if (snprintf(partial, sizeof partial, "%s", path) >= (int)sizeof partial) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = partial + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(partial, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(partial, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

/* Temporary files in flight. A signal handler reads them, so a slot is filled before it is
 * marked active and unmarked before it is reused. Writes nest at most a few deep (a
 * checkpoint while the search writes its table). */
#define PENDING_SLOTS 4
static char pending_paths[PENDING_SLOTS][1040];
static volatile sig_atomic_t pending_active[PENDING_SLOTS];

const char *nni_atomic_pending_path(int i)
{
    for (int k = 0, seen = 0; k < PENDING_SLOTS; k++)
        if (pending_active[k] && seen++ == i)
            return pending_paths[k];
    return NULL;
}

nn_status nni_sync_path(const char *path, int is_directory, nn_error *err)
{
    int fd = open(path, is_directory ? O_RDONLY : O_RDWR);
    if (fd < 0)
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot open to sync: %s", path, strerror(errno));
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    /* Some file systems cannot fsync a directory; the data itself is already synced. */
    if (rc != 0 && !(is_directory && (saved == EINVAL || saved == EBADF)))
        return nn_fail(err, NN_ERR_OTHER, "%s: fsync failed: %s", path, strerror(saved));
    return NN_OK;
}

nn_status nni_atomic_begin(nni_atomic_file *f, const char *path, nn_error *err)
{
    f->slot = -1;
    if (snprintf(f->path, sizeof f->path, "%s", path) >= (int)sizeof f->path ||
        snprintf(f->tmp_path, sizeof f->tmp_path, "%s.tmp", path) >= (int)sizeof f->tmp_path)
        return nn_fail(err, NN_ERR_OTHER, "%s: path too long", path);
    /* The rename at commit replaces whatever has the name: a device (-o /dev/null run as
     * root), a FIFO or a socket would be replaced by a regular file. */
    struct stat target;
    if (stat(path, &target) == 0 && !S_ISREG(target.st_mode))
        return nn_fail(err, NN_ERR_OTHER, "%s: exists and is not a regular file (outputs are "
                       "written to a temporary file and renamed over the name)", path);
    for (int k = 0; k < PENDING_SLOTS; k++)
        if (!pending_active[k]) {
            memcpy(pending_paths[k], f->tmp_path, sizeof f->tmp_path);
            pending_active[k] = 1;
            f->slot = k;
            break;
        }
    return NN_OK;
}

static void release(nni_atomic_file *f)
{
    if (f->slot >= 0)
        pending_active[f->slot] = 0;
    f->slot = -1;
}

void nni_atomic_abort(nni_atomic_file *f)
{
    unlink(f->tmp_path);
    release(f);
}

nn_status nni_atomic_commit(nni_atomic_file *f, nn_error *err)
{
    nn_status st = nni_sync_path(f->tmp_path, 0, err);
    if (!st && rename(f->tmp_path, f->path) != 0)
        st = nn_fail(err, NN_ERR_OTHER, "%s: cannot rename to %s: %s", f->tmp_path, f->path,
                     strerror(errno));
    if (st) {
        nni_atomic_abort(f);
        return st;
    }
    release(f);
    /* The rename is durable once the directory entry is. */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", f->path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    return nni_sync_path(slash ? dir : ".", 1, err);
}

nn_status nni_write_file_atomic(const char *path, const void *data, size_t size, nn_error *err)
{
    nni_atomic_file f;
    nn_status st = nni_atomic_begin(&f, path, err);
    if (st)
        return st;
    int fd = open(f.tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        st = nn_fail(err, NN_ERR_OTHER, "%s: cannot write: %s (creating %s)", path,
                     strerror(errno), f.tmp_path);
        release(&f);
        return st;
    }
    const char *p = data;
    size_t left = size;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        p += n;
        left -= (size_t)n;
    }
    int saved = errno;
    if (close(fd) != 0 && left == 0) {
        left = 1;
        saved = errno;
    }
    if (left > 0) {
        st = nn_fail(err, NN_ERR_OTHER, "%s: cannot write: %s", path,
                     strerror(saved ? saved : ENOSPC));
        nni_atomic_abort(&f);
        return st;
    }
    return nni_atomic_commit(&f, err);
}

nn_status nni_append_fd(int fd, const char *path, const void *data, size_t size, nn_error *err)
{
    const off_t before = lseek(fd, 0, SEEK_END);
    if (before < 0)
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot write: %s", path, strerror(errno));
    const char *p = data;
    size_t left = size;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* A write that stops part way (EFBIG, ENOSPC) leaves part of a line: cut it. */
            int saved = n < 0 ? errno : ENOSPC;
            if (ftruncate(fd, before) != 0)
                return nn_fail(err, NN_ERR_OTHER, "%s: cannot write: %s; and cannot cut the "
                               "partial line: %s", path, strerror(saved), strerror(errno));
            return nn_fail(err, NN_ERR_OTHER, "%s: cannot write: %s", path, strerror(saved));
        }
        p += n;
        left -= (size_t)n;
    }
    return NN_OK;
}
