/* The state of every trial, derived from the journal's events alone: a live search and a
 * resumed one (which replays the journal) go through the same function, so they reach the
 * same decisions. Promotions from rung to rung are the method's (nni_search_method.promote,
 * a pure function of the rung results). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search/method.h"

nn_status nni_trials_init(nni_trial_table *table, const nn_search *s, nn_error *err)
{
    memset(table, 0, sizeof *table);
    table->search = s;
    table->n = s->n_trials;
    table->t = calloc((size_t)table->n, sizeof *table->t);
    if (!table->t)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    for (int i = 0; i < table->n; i++)
        table->t[i].group = -1;
    nni_trials_derive(table);
    return NN_OK;
}

void nni_trials_free(nni_trial_table *table)
{
    free(table->t);
    memset(table, 0, sizeof *table);
}

void nni_trials_apply(nni_trial_table *table, const nni_search_event *e)
{
    if (e->trial < 1 || e->trial > table->n || e->rung >= table->search->n_rungs)
        return; /* not a trial of this space (the journal header is checked before) */
    nni_trial_record *r = &table->t[e->trial - 1];
    r->group = e->group;
    if (e->kind == EVENT_START) {
        r->open_starts++;
        r->running = table->live;
        nni_trials_derive(table);
        return;
    }
    r->open_starts = 0;
    r->running = 0;
    r->seconds += e->seconds;
    switch (e->outcome) {
    case OUTCOME_OK:
        r->has_result[e->rung] = 1;
        r->rung_metric[e->rung] = e->metric;
        r->rung_best_epoch[e->rung] = e->best_epoch;
        r->rung_epochs_run[e->rung] = e->epochs;
        if (!e->paused && e->rung < table->search->n_rungs - 1) {
            r->stopped_early = 1;
            r->stopped_rung = e->rung;
        }
        break;
    case OUTCOME_FAILED:
        r->failed = 1;
        r->failed_rung = e->rung;
        r->status = e->status;
        snprintf(r->reason, sizeof r->reason, "%s", e->reason);
        break;
    case OUTCOME_INTERRUPTED:
        break; /* continues from its checkpoint */
    }
    nni_trials_derive(table);
}

int nni_search_better(double a, double b, int maximize)
{
    if (isnan(a) || isnan(b))
        return !isnan(a) && isnan(b);
    return maximize ? a > b : a < b;
}

void nni_trials_derive(nni_trial_table *table)
{
    const nn_search *s = table->search;
    const int last = s->n_rungs - 1;
    for (int i = 0; i < table->n; i++)
        table->t[i].rung = 0;
    memset(table->rung_decided, 0, sizeof table->rung_decided);
    if (s->method->promote)
        s->method->promote(table);
    for (int i = 0; i < table->n; i++) {
        nni_trial_record *r = &table->t[i];
        r->last_result = -1;
        for (int k = 0; k <= last; k++)
            if (r->has_result[k])
                r->last_result = k;
        if (r->failed)
            r->state = TRIAL_FAILED;
        else if (r->stopped_early || r->has_result[last])
            r->state = TRIAL_FINISHED;
        else if (r->has_result[r->rung])
            r->state = table->rung_decided[r->rung] ? TRIAL_PRUNED : TRIAL_WAITING;
        else if (r->running)
            r->state = TRIAL_RUNNING;
        else if (r->open_starts > 0)
            r->state = TRIAL_STARTED;
        else
            r->state = TRIAL_PENDING;
    }
    /* Values that depend on results are decided from the states just derived. */
    if (s->method->propose)
        s->method->propose(table);
}

int nni_trials_next(const nni_trial_table *table, int *trial, int *rung)
{
    return table->search->method->next(table, trial, rung);
}

int nni_trials_next_pending(const nni_trial_table *table, int *trial, int *rung)
{
    int found = 0;
    for (int i = 0; i < table->n; i++) {
        const nni_trial_record *r = &table->t[i];
        if ((r->state == TRIAL_PENDING || r->state == TRIAL_STARTED) &&
            (!found || r->rung < *rung)) {
            found = 1;
            *trial = i + 1;
            *rung = r->rung;
        }
    }
    return found ? 1 : -1;
}

int nni_trials_any_running(const nni_trial_table *table)
{
    for (int i = 0; i < table->n; i++)
        if (table->t[i].state == TRIAL_RUNNING)
            return 1;
    return 0;
}

void nni_trials_count(const nni_trial_table *table, int counts[TRIAL_FAILED + 1])
{
    memset(counts, 0, sizeof(int) * (TRIAL_FAILED + 1));
    for (int i = 0; i < table->n; i++)
        counts[table->t[i].state]++;
}

double nni_trials_metric(const nni_trial_table *table, int trial, int *best_epoch, int *epochs)
{
    const nni_trial_record *r = &table->t[trial - 1];
    int k = r->last_result;
    if (best_epoch)
        *best_epoch = k >= 0 ? r->rung_best_epoch[k] : 0;
    if (epochs)
        *epochs = k >= 0 ? r->rung_epochs_run[k] : 0;
    return k >= 0 ? r->rung_metric[k] : NAN;
}

nni_mean_interval nni_trials_config_interval(const nni_trial_table *table, int config)
{
    const nn_search *s = table->search;
    double values[1000]; /* search.repeats <= 1000 */
    int n = 0;
    for (int j = 0; j < s->repeats; j++) {
        int t = (config - 1) * s->repeats + j + 1;
        if (t <= table->n && table->t[t - 1].state == TRIAL_FINISHED)
            values[n++] = nni_trials_metric(table, t, NULL, NULL);
    }
    return nni_mean_interval_of(values, n);
}

int nni_trials_config_resolved(const nni_trial_table *table, int config)
{
    const nn_search *s = table->search;
    for (int j = 0; j < s->repeats; j++) {
        trial_state st = table->t[(config - 1) * s->repeats + j].state;
        if (st != TRIAL_FINISHED && st != TRIAL_FAILED)
            return 0;
    }
    return 1;
}

int nni_trials_best_config(const nni_trial_table *table)
{
    int best = 0;
    double best_mean = NAN;
    for (int c = 1; c <= table->search->n_configs; c++) {
        nni_mean_interval m = nni_trials_config_interval(table, c);
        if (m.n > 0 && (!best || nni_search_better(m.mean, best_mean, table->search->maximize))) {
            best = c;
            best_mean = m.mean;
        }
    }
    return best;
}

static const nni_trial_table *config_ranking_table;
static double *config_ranking_mean;

static int compare_configs(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    double ma = config_ranking_mean[a - 1], mb = config_ranking_mean[b - 1];
    int maximize = config_ranking_table->search->maximize;
    if (nni_search_better(ma, mb, maximize))
        return -1;
    if (nni_search_better(mb, ma, maximize))
        return 1;
    return a - b;
}

void nni_trials_config_ranking(const nni_trial_table *table, int *order)
{
    const int n = table->search->n_configs;
    config_ranking_mean = malloc((size_t)(n ? n : 1) * sizeof *config_ranking_mean);
    for (int c = 1; c <= n; c++) {
        order[c - 1] = c;
        if (config_ranking_mean)
            config_ranking_mean[c - 1] = nni_trials_config_interval(table, c).mean;
    }
    if (config_ranking_mean) {
        config_ranking_table = table;
        qsort(order, (size_t)n, sizeof *order, compare_configs);
    }
    free(config_ranking_mean);
    config_ranking_mean = NULL;
    config_ranking_table = NULL;
}

int nni_trials_best(const nni_trial_table *table)
{
    if (table->search->repeats > 1) {
        int c = nni_trials_best_config(table), r = table->search->repeats;
        for (int j = 0; c && j < r; j++)
            if (table->t[(c - 1) * r + j].state == TRIAL_FINISHED)
                return (c - 1) * r + j + 1;
        return 0;
    }

    int best = 0;
    double best_metric = NAN;
    for (int i = 0; i < table->n; i++) {
        if (table->t[i].state != TRIAL_FINISHED)
            continue;
        double m = nni_trials_metric(table, i + 1, NULL, NULL);
        if (!isnan(m) && (!best || nni_search_better(m, best_metric, table->search->maximize))) {
            best = i + 1;
            best_metric = m;
        }
    }
    return best;
}

const char *nni_trials_state_name(trial_state state)
{
    static const char *const names[] = {"pending", "started", "running", "waiting",
                                        "finished", "pruned", "failed"};
    return names[state];
}

static const nni_trial_table *ranking_table;

static int state_class(trial_state state)
{
    switch (state) {
    case TRIAL_FINISHED:
        return 0;
    case TRIAL_WAITING:
    case TRIAL_PRUNED:
        return 1;
    case TRIAL_FAILED:
        return 3;
    default:
        return 2;
    }
}

static int compare_ranking(const void *pa, const void *pb)
{
    int a = *(const int *)pa, b = *(const int *)pb;
    const nni_trial_record *ra = &ranking_table->t[a - 1], *rb = &ranking_table->t[b - 1];
    int ca = state_class(ra->state), cb = state_class(rb->state);
    if (ca != cb)
        return ca - cb;
    if (ca == 1 && ra->last_result != rb->last_result)
        return rb->last_result - ra->last_result;
    if (ca <= 1) {
        double ma = nni_trials_metric(ranking_table, a, NULL, NULL);
        double mb = nni_trials_metric(ranking_table, b, NULL, NULL);
        if (nni_search_better(ma, mb, ranking_table->search->maximize))
            return -1;
        if (nni_search_better(mb, ma, ranking_table->search->maximize))
            return 1;
    }
    return a - b;
}

void nni_trials_ranking(const nni_trial_table *table, int *order)
{
    for (int i = 0; i < table->n; i++)
        order[i] = i + 1;
    ranking_table = table;
    qsort(order, (size_t)table->n, sizeof *order, compare_ranking);
    ranking_table = NULL;
}
