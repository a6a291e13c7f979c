/* Configuration error messages: one line, "<where>: <path>: <what>", and the "did you
 * mean" suggestion by edit distance. */
#include "config/cfg_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int path_within(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '.' || path[n] == '[');
}

nn_status nni_cfg_vfail_at(nn_error *err, const char *where, const char *path, const char *fmt,
                           va_list ap)
{
    char what[sizeof err->msg];
    vsnprintf(what, sizeof what, fmt, ap);
    if (!where)
        where = "";
    if (!path)
        path = "";
    /* "--set train.lr: train.lr: ..." says the path twice. */
    int show_path = path[0] && !(strncmp(where, "--set ", 6) == 0 && path_within(where + 6, path));
    return nn_fail(err, NN_ERR_CONFIG, "%s%s%s%s%s", where, where[0] ? ": " : "",
                   show_path ? path : "", show_path ? ": " : "", what);
}

nn_status nni_cfg_fail_at(nn_error *err, const char *where, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nn_status st = nni_cfg_vfail_at(err, where, path, fmt, ap);
    va_end(ap);
    return st;
}

nn_status nni_cfg_oom(nn_error *err)
{
    return nn_fail(err, NN_ERR_OTHER, "out of memory while handling the configuration");
}

nn_status nn_cfg_fail(nn_error *err, const nn_cfg *node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nn_status st = nni_cfg_vfail_at(err, node ? node->where : "", node ? node->path : "", fmt, ap);
    va_end(ap);
    return st;
}

void nni_cfg_quote_text(const char *text, char *buf, size_t size)
{
    const size_t limit = 60; /* characters of text shown before "..." */
    size_t n = 0, shown = 0;
    if (size < 8) {
        buf[0] = '\0';
        return;
    }
    for (const char *p = text; *p; p++) {
        char esc = *p == '\n' ? 'n' : *p == '\t' ? 't' : *p == '\r' ? 'r' : 0;
        size_t need = esc || (unsigned char)*p < 0x20 ? 2 : 1;
        if (shown >= limit || n + need + 4 > size) {
            memcpy(buf + n, "...", 3);
            n += 3;
            break;
        }
        if (esc) {
            buf[n++] = '\\';
            buf[n++] = esc;
        } else if ((unsigned char)*p < 0x20) {
            buf[n++] = '\\';
            buf[n++] = '?';
        } else {
            buf[n++] = *p;
        }
        shown++;
    }
    buf[n] = '\0';
}

void nni_cfg_describe(const nn_cfg *node, char *buf, size_t size)
{
    if (!node) {
        snprintf(buf, size, "nothing");
    } else if (node->kind == NN_CFG_MAP) {
        snprintf(buf, size, "a mapping");
    } else if (node->kind == NN_CFG_SEQ) {
        snprintf(buf, size, "a list");
    } else if (size > 2) {
        buf[0] = '\'';
        nni_cfg_quote_text(node->text, buf + 1, size - 2);
        strcat(buf, "'");
    }
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Optimal string alignment distance (Levenshtein plus transpositions of neighbours), case
 * insensitive: "trian" is one step from "train", "LR" none from "lr". */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 1000;
    int d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            int cost = lower(a[i - 1]) != lower(b[j - 1]);
            int best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1]) && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

static int starts_with_word(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if (lower(*s) != lower(*prefix))
            return 0;
    return 1;
}

const char *nni_cfg_closest(const char *word, const char *const *candidates)
{
    if (!word || !candidates)
        return NULL;
    size_t len = strlen(word);
    /* Allow about one typo per three letters; a cut-off name ("activ") counts as one. */
    int limit = (int)(len + 2) / 3, best_distance = limit + 1;
    const char *best = NULL;
    for (int i = 0; candidates[i]; i++) {
        int d = edit_distance(word, candidates[i]);
        if (len >= 3 && d > 1 && starts_with_word(candidates[i], word))
            d = 1;
        if (d < best_distance) {
            best_distance = d;
            best = candidates[i];
        }
    }
    return best;
}
