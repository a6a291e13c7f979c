/* Random search: search.trials draws. Configuration k draws parameter p from the
 * counter-based stream (seed, NNI_RNG_SEARCH, 0, k, p), so it is the same on every rank, in
 * every run and whatever the number of trials (--predict continues the stream past the
 * budget). A
 * drawn number is kept as the text the trial's config holds: the value trained with is
 * exactly the value shown, and `nntrain train --set key=<text>` reproduces a trial. */
#include <math.h>

#include "core/rng.h"
#include "search/method.h"

nn_status nni_search_random_count(nn_search *s, const nn_cfg *section, nn_error *err)
{
    const nn_cfg *node = nn_cfg_get(section, "trials");
    int64_t trials = 0;
    nn_status st = nn_cfg_read_int(section, "trials", 0, &trials, err);
    if (st)
        return st;
    if (trials < 1 || trials > SEARCH_MAX_TRIALS) {
        char what[64];
        snprintf(what, sizeof what, "a %s search", s->method->name);
        return nn_cfg_fail(err, node ? node : section, "%s needs trials: N (1 to %d)",
                           node ? "search.trials" : what, SEARCH_MAX_TRIALS);
    }
    s->random_draws = 1;
    s->n_trials = (int)trials;
    return NN_OK;
}

void nni_search_number_text(const nni_search_param *sp, double value, char *text, size_t size)
{
    if (sp->kind == PARAM_INT_UNIFORM) {
        double v = floor(value + 0.5);
        v = v < sp->min ? sp->min : v > sp->max ? sp->max : v;
        snprintf(text, size, "%lld", (long long)v);
        return;
    }
    if (sp->q > 0) { /* the multiple of q nearest the draw, inside the bounds */
        double v = sp->q * floor(value / sp->q + 0.5);
        if (v > sp->max)
            v -= sp->q;
        if (v < sp->min)
            v += sp->q;
        value = v;
    }
    snprintf(text, size, "%.6g", value);
}

int nni_search_draw(const nni_search_param *sp, nni_rng *rng, char *text, size_t size)
{
    switch (sp->kind) {
    case PARAM_VALUES:
        return (int)nni_rng_below(rng, (uint32_t)sp->n_values);
    case PARAM_UNIFORM:
        nni_search_number_text(sp, sp->min + (sp->max - sp->min) * nni_rng_uniform_double(rng),
                               text, size);
        break;
    case PARAM_LOG_UNIFORM:
        nni_search_number_text(sp, exp(log(sp->min) + (log(sp->max) - log(sp->min)) *
                                                          nni_rng_uniform_double(rng)),
                               text, size);
        break;
    case PARAM_INT_UNIFORM:
        snprintf(text, size, "%lld", (long long)sp->min +
                 (long long)nni_rng_below(rng, (uint32_t)(sp->max - sp->min + 1)));
        break;
    case PARAM_NORMAL:
        snprintf(text, size, "%.6g", sp->mu + sp->sigma * (double)nni_rng_normal(rng));
        break;
    }
    return -1;
}

int nni_search_random_value(const nn_search *s, int p, int64_t c, char *text, size_t size)
{
    nni_rng rng = nni_rng_stream(s->seed, NNI_RNG_SEARCH, 0, (uint64_t)c, (uint32_t)p);
    return nni_search_draw(&s->params[p], &rng, text, size);
}

static nn_status random_parse(nn_search *s, const nn_cfg *section, nn_error *err)
{
    nn_status st = nni_search_random_count(s, section, err);
    if (!st)
        nni_search_single_rung(s);
    return st;
}

static const char *const random_keys[] = {"trials", NULL};

const nni_search_method nni_search_method_random = {
    .name = "random",
    .help = "search.trials draws from the values and distributions",
    .keys = random_keys,
    .parse = random_parse,
    .value = nni_search_random_value,
    .next = nni_trials_next_pending,
};
