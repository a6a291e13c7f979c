/* Shared pieces of the harnesses (see fuzz_common.h). */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch[512];

const char *fuzz_scratch_dir(void)
{
    if (!scratch[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(scratch, sizeof scratch, "%s/nnfuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(scratch)) {
            perror("fuzz: mkdtemp");
            abort();
        }
    }
    return scratch;
}

void fuzz_scratch_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", fuzz_scratch_dir(), name);
}

void fuzz_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

void fuzz_remove(const char *path)
{
    unlink(path);
}

uint8_t fuzz_u8(fuzz_reader *r)
{
    if (!r->size)
        return 0;
    r->size--;
    return *r->data++;
}

uint32_t fuzz_u32(fuzz_reader *r)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | fuzz_u8(r);
    return v;
}

const uint8_t *fuzz_bytes(fuzz_reader *r, size_t max, size_t *len)
{
    const uint8_t *p = r->data;
    *len = max < r->size ? max : r->size;
    r->data += *len;
    r->size -= *len;
    return p;
}

void fuzz_check_error(nn_status status, const nn_error *err, const char *what)
{
    if (status == NN_OK)
        return;
    const char *problem = NULL;
    if (status < NN_ERR_OTHER || status > NN_ERR_NUMERIC)
        problem = "an unknown status";
    else if (err->status != status)
        problem = "a status that differs from the error's";
    else if (!err->msg[0])
        problem = "an empty message";
    else if (strchr(err->msg, '\n'))
        problem = "a message of several lines";
    if (problem) {
        fprintf(stderr, "fuzz: %s failed with %s (status %d): '%s'\n", what, problem,
                (int)status, err->msg);
        abort();
    }
}

void fuzz_check_absent(const char *path, const char *what)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        fprintf(stderr, "fuzz: %s failed but left %s behind\n", what, path);
        abort();
    }
}
