/* What a scalar's text means: numbers, integers, booleans, null. The typed readers use it
 * to convert on demand, the emitter to know which strings must be quoted to stay strings.
 *
 * Numbers follow YAML's forms rather than strtod's: 1e-3, 1.0e-4, 0.001, .5, 5., +7, -2,
 * 1_000, .inf; no hex floats, no "nan", no leading or trailing spaces, nothing after the
 * number. Integers also take 0x/0o prefixes, and a number written as a float when it is a
 * whole number (1e3, 2.0), so `steps: 1e5` works; 2.5 is not an integer. */
#include "config/cfg_internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_digit_in(char c, int base)
{
    if (base == 16)
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (base == 8)
        return c >= '0' && c <= '7';
    return is_digit(c);
}

/* Lower-case ASCII comparison. */
static int same_word(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        if (ca != *b)
            return 0;
    }
    return *a == *b;
}

/* Copies digits of `base` into buf, dropping underscores that sit between digits. Returns
 * the number of digits. */
static int scan_digits(const char **p, int base, char *buf, size_t *n)
{
    int count = 0;
    for (;;) {
        if (is_digit_in(**p, base)) {
            buf[(*n)++] = *(*p)++;
            count++;
        } else if (**p == '_' && count && is_digit_in((*p)[1], base)) {
            (*p)++;
        } else {
            return count;
        }
    }
}

int nni_cfg_parse_double(const char *text, double *out)
{
    char buf[512];
    size_t n = 0;
    const char *p = text;
    if (strlen(text) >= sizeof buf)
        return 0;
    int negative = *p == '-';
    if (*p == '+' || *p == '-')
        buf[n++] = *p++;
    if (same_word(p, ".inf")) {
        *out = negative ? -INFINITY : INFINITY;
        return 1;
    }
    int digits = scan_digits(&p, 10, buf, &n);
    if (*p == '.') {
        buf[n++] = *p++;
        digits += scan_digits(&p, 10, buf, &n);
    }
    if (!digits)
        return 0;
    if (*p == 'e' || *p == 'E') {
        buf[n++] = *p++;
        if (*p == '+' || *p == '-')
            buf[n++] = *p++;
        if (!scan_digits(&p, 10, buf, &n))
            return 0;
    }
    if (*p)
        return 0;
    buf[n] = '\0';
    char *end;
    errno = 0;
    double value = strtod(buf, &end);
    if (end != buf + n)
        return 0;
    if (errno == ERANGE && isinf(value))
        return -1;
    *out = value;
    return 1;
}

int nni_cfg_parse_int(const char *text, long long *out)
{
    char buf[512];
    size_t n = 0;
    const char *p = text;
    if (strlen(text) >= sizeof buf)
        return 0;
    int negative = *p == '-';
    if (*p == '+' || *p == '-')
        p++;
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X' || p[1] == 'o')) {
        base = p[1] == 'o' ? 8 : 16;
        p += 2;
    }
    if (scan_digits(&p, base, buf, &n) && !*p) {
        buf[n] = '\0';
        errno = 0;
        unsigned long long magnitude = strtoull(buf, NULL, base);
        if (errno == ERANGE || magnitude > (unsigned long long)LLONG_MAX + negative)
            return -1;
        /* -2^63 has no positive counterpart; go through unsigned arithmetic. */
        *out = negative ? (long long)(0 - magnitude) : (long long)magnitude;
        return 1;
    }
    if (base != 10)
        return 0;
    double value;
    int r = nni_cfg_parse_double(text, &value);
    if (r != 1)
        return r;
    if (isinf(value) || fabs(value) >= 9223372036854775808.0)
        return -1;
    if (value != floor(value))
        return -2;
    *out = (long long)value;
    return 1;
}

int nni_cfg_parse_bool(const char *text, int *out)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    for (int i = 0; i < 3; i++) {
        if (same_word(text, yes[i])) {
            *out = 1;
            return 1;
        }
        if (same_word(text, no[i])) {
            *out = 0;
            return 1;
        }
    }
    return 0;
}
