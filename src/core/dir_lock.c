/* Directory locks (core/dir_lock.h). The lock lives on a file inside the directory rather
 * than on the directory itself: an exclusive flock on NFS becomes a POSIX lock, which needs
 * a descriptor open for writing. The holder writes "pid host" into the file for the message
 * a refused job prints. */
#define _DEFAULT_SOURCE /* flock */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/dir_lock.h"

nn_status nni_dir_lock(const char *dir, const char *what, int *fd, nn_error *err)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/.lock", dir);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0)
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot create: %s", path, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        int busy = errno == EWOULDBLOCK;
        char holder[128] = "";
        ssize_t len = busy ? pread(*fd, holder, sizeof holder - 1, 0) : 0;
        holder[len > 0 ? len : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        close(*fd);
        *fd = -1;
        if (!busy)
            return nn_fail(err, NN_ERR_OTHER, "%s: cannot lock: %s", path, strerror(errno));
        return nn_fail(err, NN_ERR_CONFIG, "%s is in use by another job (%s%s); wait for it to "
                       "end or choose another %s", dir, holder[0] ? "pid " : "lock held",
                       holder, what);
    }
    char holder[128], host[64] = "?";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    int len = snprintf(holder, sizeof holder, "%ld on %s\n", (long)getpid(), host);
    if (ftruncate(*fd, 0) == 0 && pwrite(*fd, holder, (size_t)len, 0) < 0) {
        /* the pid is only for the message: a lock without it still locks */
    }
    return NN_OK;
}

void nni_dir_unlock(int *fd)
{
    if (*fd >= 0)
        close(*fd); /* closing the last descriptor drops the flock */
    *fd = -1;
}
