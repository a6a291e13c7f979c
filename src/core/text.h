/* A growing text buffer (the report's HTML and SVG, a search's CSV files): appends never
 * fail one by one; a failed allocation is remembered and reported once when the text is
 * used. */
#ifndef NNI_CORE_TEXT_H
#define NNI_CORE_TEXT_H

#include <stddef.h>

typedef struct nni_text {
    char *data; /* NUL-terminated; NULL while empty */
    size_t len, cap;
    int failed; /* an allocation failed: the text is incomplete */
} nni_text;

void nni_text_put(nni_text *t, const char *s, size_t n);
void nni_text_puts(nni_text *t, const char *s);
void nni_text_printf(nni_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* s with &, <, >, " and ' escaped, for HTML/SVG text and attribute values. */
void nni_text_escaped(nni_text *t, const char *s);
void nni_text_free(nni_text *t);

#endif
