/* The table of search methods and what is said of them as a whole: lookup by name, lists
 * of names for messages, and the methods' part of `nntrain search --help`. */
#include <string.h>

#include "search/method.h"

/* One row per method, in the order help and messages list them; each row names a
 * `const nni_search_method nni_search_method_<name>` defined in the method's own file. The
 * first is the default. */
#define SEARCH_METHODS(row) \
    row(grid)               \
    row(random)             \
    row(halving)            \
    row(bayes)              \
    /* end of the table */

#define DECLARE_METHOD(name) extern const nni_search_method nni_search_method_##name;
#define METHOD_ENTRY(name) &nni_search_method_##name,
SEARCH_METHODS(DECLARE_METHOD)
const nni_search_method *const nni_search_methods[] = {SEARCH_METHODS(METHOD_ENTRY) NULL};

const nni_search_method *nni_search_method_find(const char *name)
{
    for (int i = 0; nni_search_methods[i]; i++)
        if (!strcmp(nni_search_methods[i]->name, name))
            return nni_search_methods[i];
    return NULL;
}

int nni_search_method_takes_key(const nni_search_method *m, const void *key)
{
    for (int i = 0; m->keys && m->keys[i]; i++)
        if (!strcmp(m->keys[i], key))
            return 1;
    return 0;
}

void nni_search_method_list(int (*takes)(const nni_search_method *m, const void *ctx),
                            const void *ctx, char *out, size_t size)
{
    int count = 0, listed = 0;
    for (int i = 0; nni_search_methods[i]; i++)
        count += takes(nni_search_methods[i], ctx) != 0;
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; nni_search_methods[i] && used < size; i++) {
        if (!takes(nni_search_methods[i], ctx))
            continue;
        const char *sep = listed == 0 ? "" : listed == count - 1 ? " or " : ", ";
        used += (size_t)snprintf(out + used, size - used, "%s%s", sep,
                                 nni_search_methods[i]->name);
        listed++;
    }
}

void nni_search_single_rung(nn_search *s)
{
    s->n_rungs = 1;
    s->rung_epochs[0] = 0;
    s->rung_size[0] = s->n_trials;
}

void nn_search_print_methods(FILE *out)
{
    for (int i = 0; nni_search_methods[i]; i++) {
        const nni_search_method *m = nni_search_methods[i];
        fprintf(out, "    %-8s %s\n", m->name, m->help);
        for (int k = 0; m->keys && m->keys[k]; k++)
            fprintf(out, "%s%s%s", k ? ", " : "             keys: search.", k ? "search." : "",
                    m->keys[k]);
        if (m->keys && m->keys[0])
            fprintf(out, "\n");
    }
}
