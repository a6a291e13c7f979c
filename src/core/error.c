/* Error values (see include/nn/error.h). */
#include "nn/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Messages quote what they are about (a `--set` text, a CSV field, a name from a file),
 * which may hold line breaks; the message stays one line whatever it quotes. */
static void one_line(char *msg)
{
    for (char *c = msg; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
}

nn_status nn_fail(nn_error *err, nn_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        one_line(err->msg);
        err->status = status;
    }
    return status;
}

nn_status nn_fail_prefix(nn_error *err, const char *fmt, ...)
{
    if (!err)
        return NN_ERR_OTHER;
    char prefix[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* Truncation is fine here: a long message keeps its head, which says the most. */
    size_t plen = strlen(prefix), olen = strlen(old);
    if (plen > sizeof err->msg - 1)
        plen = sizeof err->msg - 1;
    if (olen > sizeof err->msg - 1 - plen)
        olen = sizeof err->msg - 1 - plen;
    memcpy(err->msg, prefix, plen);
    memcpy(err->msg + plen, old, olen);
    err->msg[plen + olen] = '\0';
    one_line(err->msg);
    return err->status;
}

void nn_error_clear(nn_error *err)
{
    if (err) {
        err->status = NN_OK;
        err->msg[0] = '\0';
    }
}
