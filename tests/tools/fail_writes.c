/* Writes that fail on command, for the I/O-failure tests (LD_PRELOAD=libfail_writes.so).
 *
 *   NN_FAIL_PATH=metrics.csv   the files whose writes fail: every path containing this text
 *   NN_FAIL_AFTER=2            this many write operations on them succeed first (default 0)
 *   NN_FAIL_ERRNO=ENOSPC       the error: ENOSPC (default), EFBIG, EIO or EROFS
 *
 * A write operation is a write()/pwrite()/writev() on a descriptor of such a file, or the
 * creation of such a file by open()/fopen(). Once the budget is spent, the first failing
 * write writes half of its bytes and reports them (as a disk that fills up part way does),
 * and every later one fails with the error, as does creating a new file. A file that exists
 * already may still be opened; the failure comes with its writes. Nothing else is touched,
 * so a run fails in exactly the file a test names. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static long operations; /* write operations on matching files so far */

static const char *pattern(void)
{
    const char *p = getenv("NN_FAIL_PATH");
    return p && *p ? p : NULL;
}

static int chosen_errno(void)
{
    const char *e = getenv("NN_FAIL_ERRNO");
    if (!e || !strcmp(e, "ENOSPC"))
        return ENOSPC;
    if (!strcmp(e, "EFBIG"))
        return EFBIG;
    if (!strcmp(e, "EIO"))
        return EIO;
    if (!strcmp(e, "EROFS"))
        return EROFS;
    return ENOSPC;
}

/* Counts one operation; nonzero once the budget NN_FAIL_AFTER is spent. */
static int over_budget(void)
{
    const char *after = getenv("NN_FAIL_AFTER");
    return ++operations > (after ? atol(after) : 0);
}

static int path_matches(const char *path)
{
    const char *p = pattern();
    return p && path && strstr(path, p);
}

static int fd_matches(int fd)
{
    if (fd <= 2 || !pattern())
        return 0;
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    return path_matches(target);
}

/* Creating a matching file that does not exist yet, for writing. */
static int creation_fails(const char *path, int flags)
{
    struct stat st;
    if (!(flags & O_CREAT) || !path_matches(path) || stat(path, &st) == 0)
        return 0;
    if (!over_budget())
        return 0;
    errno = chosen_errno();
    return 1;
}

/* How many of `size` bytes a write on fd may write: size, half of it on the first failing
 * write, or -1 (errno set). */
static ssize_t allowed(int fd, size_t size)
{
    static int failed_before;
    if (!fd_matches(fd) || !over_budget())
        return (ssize_t)size;
    if (!failed_before && size > 1) {
        failed_before = 1;
        return (ssize_t)(size / 2);
    }
    failed_before = 1;
    errno = chosen_errno();
    return -1;
}

#define NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

ssize_t write(int fd, const void *buf, size_t size)
{
    ssize_t n = allowed(fd, size);
    return n < 0 ? -1 : NEXT(write)(fd, buf, (size_t)n);
}

ssize_t pwrite(int fd, const void *buf, size_t size, off_t offset)
{
    ssize_t n = allowed(fd, size);
    return n < 0 ? -1 : NEXT(pwrite)(fd, buf, (size_t)n, offset);
}

ssize_t pwrite64(int fd, const void *buf, size_t size, off_t offset)
{
    ssize_t n = allowed(fd, size);
    return n < 0 ? -1 : NEXT(pwrite64)(fd, buf, (size_t)n, offset);
}

ssize_t writev(int fd, const struct iovec *iov, int count)
{
    size_t size = 0;
    for (int i = 0; i < count; i++)
        size += iov[i].iov_len;
    ssize_t n = allowed(fd, size);
    if (n < 0)
        return -1;
    if ((size_t)n == size)
        return NEXT(writev)(fd, iov, count);
    return NEXT(write)(fd, iov[0].iov_base, (size_t)n < iov[0].iov_len ? (size_t)n
                                                                        : iov[0].iov_len);
}

static mode_t mode_of(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_of(flags, ap);
    va_end(ap);
    return creation_fails(path, flags) ? -1 : NEXT(open)(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_of(flags, ap);
    va_end(ap);
    return creation_fails(path, flags) ? -1 : NEXT(open64)(path, flags, mode);
}

int openat(int dir, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = mode_of(flags, ap);
    va_end(ap);
    return creation_fails(path, flags) ? -1 : NEXT(openat)(dir, path, flags, mode);
}

int creat(const char *path, mode_t mode)
{
    return creation_fails(path, O_CREAT) ? -1 : NEXT(creat)(path, mode);
}

/* fopen creates the file for "w" and "a" modes. */
static int fopen_creates(const char *mode)
{
    return strchr(mode, 'w') || strchr(mode, 'a');
}

FILE *fopen(const char *path, const char *mode)
{
    return fopen_creates(mode) && creation_fails(path, O_CREAT) ? NULL
                                                                : NEXT(fopen)(path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
    return fopen_creates(mode) && creation_fails(path, O_CREAT) ? NULL
                                                                : NEXT(fopen64)(path, mode);
}
