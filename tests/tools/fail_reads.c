/* Reads that fail from a moment on, for the streamed-read failure test
 * (LD_PRELOAD=libfail_reads.so):
 *
 *   NN_FAIL_READ_PATH=data.h5     the files whose reads fail: every path containing this text
 *   NN_FAIL_READ_WHEN=runs/x/last.h5   ... once this file exists (a checkpoint the run writes,
 *                                  so the failure comes at a known step, whatever the timing)
 *
 * A failing read()/pread() returns -1 with ESTALE, what a file deleted on a network file
 * system gives the processes that still hold it open. Nothing else is touched. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fails(int fd)
{
    const char *pattern = getenv("NN_FAIL_READ_PATH"), *when = getenv("NN_FAIL_READ_WHEN");
    if (fd <= 2 || !pattern || !*pattern || !when || access(when, F_OK) != 0)
        return 0;
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    if (!strstr(target, pattern))
        return 0;
    errno = ESTALE;
    return 1;
}

#define NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

ssize_t read(int fd, void *buf, size_t size)
{
    return fails(fd) ? -1 : NEXT(read)(fd, buf, size);
}

ssize_t pread(int fd, void *buf, size_t size, off_t offset)
{
    return fails(fd) ? -1 : NEXT(pread)(fd, buf, size, offset);
}

ssize_t pread64(int fd, void *buf, size_t size, off_t offset)
{
    return fails(fd) ? -1 : NEXT(pread64)(fd, buf, size, offset);
}
