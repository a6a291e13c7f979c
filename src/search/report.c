/* What a search shows: trials.csv (one row per trial, in trial order), best.yaml (the
 * winning trial's configuration, ready for `nntrain train`), the leaderboard (also what
 * --status prints of a search directory), and the plan that --dry-run prints. Files are
 * written to a temporary name, fsync'ed and renamed, so a reader sees the previous version
 * or the new one, never half of one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/files.h"
#include "core/text.h"
#include "search/coordinator.h"
#include "search/directory.h"
#include "search/method.h"
#include "search/report.h"

static void put_csv(nni_text *t, const char *cell)
{
    if (!strpbrk(cell, ",\"\n\r")) {
        nni_text_puts(t, cell);
        return;
    }
    nni_text_put(t, "\"", 1);
    for (const char *c = cell; *c; c++) {
        if (*c == '"')
            nni_text_put(t, "\"", 1);
        nni_text_put(t, c, 1);
    }
    nni_text_put(t, "\"", 1);
}

const char *nni_report_failure_kind(int status)
{
    switch (status) {
    case NN_ERR_CONFIG:
        return "config error";
    case NN_ERR_DATA:
        return "data error";
    case NN_ERR_NUMERIC:
        return "numerical failure";
    default:
        return "error";
    }
}

/* ---- trials.csv and best.yaml -------------------------------------------------------------- */

static void format_metric(char *out, size_t size, double value)
{
    if (isnan(value))
        out[0] = '\0';
    else
        snprintf(out, size, "%.10g", value);
}

static nn_status write_csv(const nni_trial_table *table, const char *dir, nn_error *err)
{
    const nn_search *s = table->search;
    nni_text t = {0};
    nni_text_puts(&t, "trial");
    for (int p = 0; p < s->n_params; p++) {
        nni_text_put(&t, ",", 1);
        put_csv(&t, s->params[p].path);
    }
    nni_text_puts(&t, ",status,");
    nni_text_puts(&t, s->metric);
    nni_text_puts(&t, ",best_epoch,epochs,seconds,group,reason");
    nni_text_puts(&t, s->repeats > 1 ? ",config,seed\n" : "\n");
    for (int k = 1; k <= table->n; k++) {
        const nni_trial_record *r = &table->t[k - 1];
        char cell[512];
        snprintf(cell, sizeof cell, "%d", k);
        nni_text_puts(&t, cell);
        for (int p = 0; p < s->n_params; p++) {
            nni_search_param_text(s, p, k, cell, sizeof cell);
            nni_text_put(&t, ",", 1);
            put_csv(&t, cell);
        }
        int best_epoch, epochs;
        double metric = nni_trials_metric(table, k, &best_epoch, &epochs);
        char value[64];
        format_metric(value, sizeof value, r->state == TRIAL_FAILED ? NAN : metric);
        snprintf(cell, sizeof cell, ",%s,%s,", nni_trials_state_name(r->state), value);
        nni_text_puts(&t, cell);
        if (r->last_result >= 0 && r->state != TRIAL_FAILED)
            snprintf(cell, sizeof cell, "%d,%d,", best_epoch, epochs);
        else
            snprintf(cell, sizeof cell, ",,");
        nni_text_puts(&t, cell);
        if (r->group >= 0)
            snprintf(cell, sizeof cell, "%.1f,%d,", r->seconds, r->group);
        else
            snprintf(cell, sizeof cell, ",,");
        nni_text_puts(&t, cell);
        put_csv(&t, r->reason);
        if (s->repeats > 1) {
            snprintf(cell, sizeof cell, ",%lld,%llu", (long long)nni_search_config_of(s, k),
                     (unsigned long long)(s->base_seed + (uint64_t)nni_search_repeat_of(s, k)));
            nni_text_puts(&t, cell);
        }
        nni_text_put(&t, "\n", 1);
    }
    char path[700];
    snprintf(path, sizeof path, "%s/trials.csv", dir);
    nn_status st = t.failed ? nn_fail(err, NN_ERR_OTHER, "out of memory")
                            : nni_write_file_atomic(path, t.data, strlen(t.data), err);
    nni_text_free(&t);
    return st;
}

static nn_status write_best(const nni_trial_table *table, const char *dir, nn_error *err)
{
    int best = nni_trials_best(table);
    if (!best)
        return NN_OK;
    nn_cfg *cfg = NULL;
    nn_status st = nni_search_build_config(table->search, best, &cfg, err);
    if (st)
        return st;
    char *yaml = nn_cfg_to_yaml(cfg);
    nn_cfg_free(cfg);
    if (!yaml)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    int best_epoch, epochs;
    double metric = nni_trials_metric(table, best, &best_epoch, &epochs);
    nni_text t = {0};
    char line[1024];
    snprintf(line, sizeof line, "# best trial %d of the search in %s: %s %.6g at epoch %d of "
             "%d (run: %s/trial-%03d)\n", best, dir, table->search->metric, metric, best_epoch,
             epochs, dir, best);
    nni_text_puts(&t, line);
    if (table->search->repeats > 1) {
        int c = (int)nni_search_config_of(table->search, best);
        nni_mean_interval m = nni_trials_config_interval(table, c);
        snprintf(line, sizeof line, "# the best configuration by the mean over its repeats: "
                 "configuration %d, %s %.6g (sd %.3g, %d of %d repeats); this is its first "
                 "finished repeat\n", c, table->search->metric, m.mean, m.sd, m.n,
                 table->search->repeats);
        nni_text_puts(&t, line);
    }
    nni_text_puts(&t, yaml);
    free(yaml);
    char path[700];
    snprintf(path, sizeof path, "%s/best.yaml", dir);
    st = t.failed ? nn_fail(err, NN_ERR_OTHER, "out of memory")
                  : nni_write_file_atomic(path, t.data, strlen(t.data), err);
    nni_text_free(&t);
    return st;
}

/* configs.csv (searches with repeats): one row per configuration in leaderboard order. */
static nn_status write_configs_csv(const nni_trial_table *table, const char *dir, nn_error *err)
{
    const nn_search *s = table->search;
    int *order = malloc((size_t)(s->n_configs ? s->n_configs : 1) * sizeof *order);
    if (!order)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    nni_trials_config_ranking(table, order);
    int best = nni_trials_best_config(table);
    nni_mean_interval best_m = best ? nni_trials_config_interval(table, best)
                                    : (nni_mean_interval){0};
    nni_text t = {0};
    nni_text_puts(&t, "rank,config");
    for (int p = 0; p < s->n_params; p++) {
        nni_text_put(&t, ",", 1);
        put_csv(&t, s->params[p].path);
    }
    nni_text_puts(&t, ",finished,repeats,mean,sd,ci95_low,ci95_high,overlaps_best\n");
    for (int i = 0; i < s->n_configs; i++) {
        int c = order[i];
        nni_mean_interval m = nni_trials_config_interval(table, c);
        char cell[512], mean[32], sd[32], low[32], high[32];
        if (m.n)
            snprintf(cell, sizeof cell, "%d,%d", i + 1, c);
        else
            snprintf(cell, sizeof cell, ",%d", c);
        nni_text_puts(&t, cell);
        for (int p = 0; p < s->n_params; p++) {
            nni_search_config_param_text(s, p, c, cell, sizeof cell);
            nni_text_put(&t, ",", 1);
            put_csv(&t, cell);
        }
        format_metric(mean, sizeof mean, m.mean);
        format_metric(sd, sizeof sd, m.sd);
        format_metric(low, sizeof low, m.low);
        format_metric(high, sizeof high, m.high);
        snprintf(cell, sizeof cell, ",%d,%d,%s,%s,%s,%s,%d\n", m.n, s->repeats, mean, sd, low,
                 high, c == best || nni_intervals_overlap(&m, &best_m));
        nni_text_puts(&t, cell);
    }
    free(order);
    char path[700];
    snprintf(path, sizeof path, "%s/configs.csv", dir);
    nn_status st = t.failed ? nn_fail(err, NN_ERR_OTHER, "out of memory")
                            : nni_write_file_atomic(path, t.data, strlen(t.data), err);
    nni_text_free(&t);
    return st;
}

nn_status nni_report_write_files(const nni_trial_table *table, const char *dir, nn_error *err)
{
    nn_status st = write_csv(table, dir, err);
    if (!st && table->search->repeats > 1)
        st = write_configs_csv(table, dir, err);
    return st ? st : write_best(table, dir, err);
}

/* ---- aligned tables -------------------------------------------------------------------- */

int nni_text_table_alloc(nni_text_table *g, int rows, int cols)
{
    g->rows = rows;
    g->cols = cols;
    g->cells = calloc((size_t)rows * (size_t)cols, sizeof *g->cells);
    return g->cells != NULL;
}

void nni_text_table_set(nni_text_table *g, int row, int col, const char *value)
{
    size_t n = strlen(value);
    char *copy = malloc(n + 1);
    if (copy)
        memcpy(copy, value, n + 1);
    g->cells[(size_t)row * (size_t)g->cols + (size_t)col] = copy;
}

void nni_text_table_print(const nni_text_table *g, int left_from, FILE *out)
{
    int *width = calloc((size_t)g->cols, sizeof *width);
    size_t line_size = 2;
    for (int c = 0; width && c < g->cols; c++) {
        for (int r = 0; r < g->rows; r++) {
            const char *cell = g->cells[(size_t)r * (size_t)g->cols + (size_t)c];
            int n = cell ? (int)strlen(cell) : 0;
            if (n > width[c])
                width[c] = n;
        }
        line_size += (size_t)width[c] + 2;
    }
    char *line = width ? malloc(line_size) : NULL;
    for (int r = 0; line && r < g->rows; r++) {
        size_t used = 0;
        for (int c = 0; c < g->cols; c++) {
            const char *cell = g->cells[(size_t)r * (size_t)g->cols + (size_t)c];
            used += (size_t)snprintf(line + used, line_size - used, "%s%*s", c ? "  " : "",
                                     c < left_from ? width[c] : -width[c], cell ? cell : "");
        }
        while (used > 0 && line[used - 1] == ' ')
            line[--used] = '\0';
        fprintf(out, "%s\n", line);
    }
    free(line);
    free(width);
}

void nni_text_table_free(nni_text_table *g)
{
    for (int i = 0; g->cells && i < g->rows * g->cols; i++)
        free(g->cells[i]);
    free(g->cells);
}

/* ---- the leaderboard ------------------------------------------------------------------- */

/* Both leaderboards (by trial, by configuration) have these fixed columns, the metric's in
 * column LEADERBOARD_METRIC, then one per searched parameter. */
enum { LEADERBOARD_FIXED = 8, LEADERBOARD_METRIC = 2 };

/* The common start of a leaderboard of n entries: *order for them, and a table of a header
 * row (`heads`, the metric's column titled `metric_head`, then the parameters' paths) and
 * the first *rows entries (all, or max_rows when positive and fewer). 0 when out of memory,
 * with nothing left to free. */
static int leaderboard_begin(const nn_search *s, int n, int max_rows,
                             const char *const heads[LEADERBOARD_FIXED], const char *metric_head,
                             int **order, int *rows, nni_text_table *g)
{
    *order = malloc((size_t)(n ? n : 1) * sizeof **order);
    *rows = max_rows > 0 && n > max_rows ? max_rows : n;
    memset(g, 0, sizeof *g);
    if (!*order || !nni_text_table_alloc(g, *rows + 1, LEADERBOARD_FIXED + s->n_params)) {
        free(*order);
        return 0;
    }
    for (int c = 0; c < LEADERBOARD_FIXED; c++)
        nni_text_table_set(g, 0, c, c == LEADERBOARD_METRIC ? metric_head : heads[c]);
    for (int p = 0; p < s->n_params; p++)
        nni_text_table_set(g, 0, LEADERBOARD_FIXED + p, s->params[p].path);
    return 1;
}

/* With repeats: one row per configuration, ranked by the mean; "*" marks the configurations
 * whose 95% interval overlaps the best's (the best included): the data do not separate
 * them from it. */
static void config_leaderboard(const nni_trial_table *table, FILE *out, int max_rows)
{
    const nn_search *s = table->search;
    static const char *const heads[LEADERBOARD_FIXED] = {"rank", "config", "", "sd",
                                                         "95% interval", "", "finished",
                                                         "failed"};
    const int fixed = LEADERBOARD_FIXED;
    char head[64];
    snprintf(head, sizeof head, "%s mean", s->metric);
    int *order, rows;
    nni_text_table g;
    if (!leaderboard_begin(s, s->n_configs, max_rows, heads, head, &order, &rows, &g))
        return;
    nni_trials_config_ranking(table, order);
    int best = nni_trials_best_config(table);
    nni_mean_interval best_m = best ? nni_trials_config_interval(table, best)
                                    : (nni_mean_interval){0};
    for (int i = 0; i < rows; i++) {
        int c = order[i], failed = 0;
        for (int j = 0; j < s->repeats; j++)
            failed += table->t[(c - 1) * s->repeats + j].state == TRIAL_FAILED;
        nni_mean_interval m = nni_trials_config_interval(table, c);
        char cell[512];
        snprintf(cell, sizeof cell, "%d", i + 1);
        nni_text_table_set(&g, i + 1, 0, m.n ? cell : "-");
        snprintf(cell, sizeof cell, "%d", c);
        nni_text_table_set(&g, i + 1, 1, cell);
        snprintf(cell, sizeof cell, "%.4f", m.mean);
        nni_text_table_set(&g, i + 1, 2, m.n ? cell : "-");
        snprintf(cell, sizeof cell, "%.4f", m.sd);
        nni_text_table_set(&g, i + 1, 3, m.n > 1 ? cell : "-");
        snprintf(cell, sizeof cell, "[%.4f, %.4f]", m.low, m.high);
        nni_text_table_set(&g, i + 1, 4, m.n > 1 ? cell : "-");
        nni_text_table_set(&g, i + 1, 5,
                           m.n && (c == best || nni_intervals_overlap(&m, &best_m)) ? "*" : "");
        snprintf(cell, sizeof cell, "%d/%d", m.n, s->repeats);
        nni_text_table_set(&g, i + 1, 6, cell);
        snprintf(cell, sizeof cell, "%d", failed);
        nni_text_table_set(&g, i + 1, 7, cell);
        for (int p = 0; p < s->n_params; p++) {
            nni_search_config_param_text(s, p, c, cell, sizeof cell);
            nni_text_table_set(&g, i + 1, fixed + p, cell);
        }
    }
    nni_text_table_print(&g, 4, out);
    nni_text_table_free(&g);
    free(order);
    if (rows < s->n_configs)
        fprintf(out, "... %d more in %s/configs.csv\n", s->n_configs - rows, s->dir);
    fprintf(out, "(each configuration ran with seeds %llu to %llu; the interval is the mean's, "
            "from Student's t; * overlaps the best's interval)\n",
            (unsigned long long)s->base_seed,
            (unsigned long long)(s->base_seed + (uint64_t)s->repeats - 1));
}

void nni_report_leaderboard(const nni_trial_table *table, FILE *out, int max_rows)
{
    const nn_search *s = table->search;
    int counts[TRIAL_FAILED + 1];
    nni_trials_count(table, counts);
    fprintf(out, "search %s: %s, %d trial%s:", s->dir, s->method->name, table->n,
            table->n == 1 ? "" : "s");
    const char *sep = " ";
    static const trial_state shown[] = {TRIAL_FINISHED, TRIAL_PRUNED, TRIAL_WAITING,
                                        TRIAL_RUNNING, TRIAL_STARTED, TRIAL_PENDING,
                                        TRIAL_FAILED};
    for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++) {
        if (!counts[shown[i]])
            continue;
        fprintf(out, "%s%d %s", sep, counts[shown[i]], nni_trials_state_name(shown[i]));
        sep = ", ";
    }
    fprintf(out, "; metric %s (%s)\n", s->metric, s->maximize ? "maximize" : "minimize");

    if (s->repeats > 1) {
        config_leaderboard(table, out, max_rows);
        for (int k = 1; k <= table->n; k++)
            if (table->t[k - 1].state == TRIAL_FAILED)
                fprintf(out, "trial %d failed (%s): %s\n", k,
                        nni_report_failure_kind(table->t[k - 1].status), table->t[k - 1].reason);
        int c = nni_trials_best_config(table);
        if (c)
            fprintf(out, "best: configuration %d, %s %.4f (mean of %d); config: %s/best.yaml, "
                    "per trial: %s/trials.csv\n", c, s->metric,
                    nni_trials_config_interval(table, c).mean,
                    nni_trials_config_interval(table, c).n, s->dir, s->dir);
        fflush(out);
        return;
    }
    static const char *const heads[LEADERBOARD_FIXED] = {"rank", "trial", "", "best_epoch",
                                                         "epochs", "seconds", "group",
                                                         "status"};
    const int fixed = LEADERBOARD_FIXED;
    int *order, rows;
    nni_text_table g;
    if (!leaderboard_begin(s, table->n, max_rows, heads, s->metric, &order, &rows, &g))
        return;
    nni_trials_ranking(table, order);
    for (int i = 0; i < rows; i++) {
        int k = order[i];
        const nni_trial_record *r = &table->t[k - 1];
        char cell[512];
        int best_epoch, epochs;
        double metric = nni_trials_metric(table, k, &best_epoch, &epochs);
        int has = r->last_result >= 0 && r->state != TRIAL_FAILED;
        snprintf(cell, sizeof cell, "%d", i + 1);
        nni_text_table_set(&g, i + 1, 0, r->state == TRIAL_FINISHED ? cell : "-");
        snprintf(cell, sizeof cell, "%d", k);
        nni_text_table_set(&g, i + 1, 1, cell);
        snprintf(cell, sizeof cell, "%.4f", metric);
        nni_text_table_set(&g, i + 1, 2, has && !isnan(metric) ? cell : "-");
        snprintf(cell, sizeof cell, "%d", best_epoch);
        nni_text_table_set(&g, i + 1, 3, has ? cell : "-");
        snprintf(cell, sizeof cell, "%d", epochs);
        nni_text_table_set(&g, i + 1, 4, has ? cell : "-");
        snprintf(cell, sizeof cell, "%.1f", r->seconds);
        nni_text_table_set(&g, i + 1, 5, r->group >= 0 ? cell : "-");
        snprintf(cell, sizeof cell, "%d", r->group);
        nni_text_table_set(&g, i + 1, 6, r->group >= 0 ? cell : "-");
        nni_text_table_set(&g, i + 1, 7, nni_trials_state_name(r->state));
        for (int p = 0; p < s->n_params; p++) {
            nni_search_param_text(s, p, k, cell, sizeof cell);
            nni_text_table_set(&g, i + 1, fixed + p, cell);
        }
    }
    nni_text_table_print(&g, 7, out);
    nni_text_table_free(&g);
    if (rows < table->n)
        fprintf(out, "... %d more in %s/trials.csv\n", table->n - rows, s->dir);
    for (int i = 0; i < table->n; i++) {
        const nni_trial_record *r = &table->t[order[i] - 1];
        if (r->state == TRIAL_FAILED)
            fprintf(out, "trial %d failed (%s): %s\n", order[i], nni_report_failure_kind(r->status),
                    r->reason);
    }
    free(order);
    int best = nni_trials_best(table);
    if (best) {
        int best_epoch, epochs;
        double metric = nni_trials_metric(table, best, &best_epoch, &epochs);
        fprintf(out, "best: trial %d, %s %.4f at epoch %d (%s/trial-%03d); config: %s/best.yaml\n",
                best, s->metric, metric, best_epoch, s->dir, best, s->dir);
    }
    fflush(out);
}

/* ---- the plan (--dry-run) -------------------------------------------------------------- */

static void describe_ranks(char *out, size_t size, int first, int count)
{
    if (count == 1)
        snprintf(out, size, "rank %d", first);
    else
        snprintf(out, size, "ranks %d-%d", first, first + count - 1);
}

nn_status nn_search_print_plan(const nn_search *s, int world_size, FILE *out, nn_error *err)
{
    int groups = 0;
    nn_status st = nni_search_layout(s, world_size, &groups, err);
    if (st)
        return st;
    fprintf(out, "search: %s over %d parameter%s, %d trial%s; metric %s (%s); directory %s\n",
            s->method->name, s->n_params, s->n_params == 1 ? "" : "s", s->n_trials,
            s->n_trials == 1 ? "" : "s", s->metric, s->maximize ? "maximize" : "minimize",
            s->dir);
    if (s->repeats > 1)
        fprintf(out, "repeats: %d configurations x %d seeds (%llu to %llu; trial t is repeat "
                "(t - 1) %% %d of configuration (t - 1) / %d + 1)\n", s->n_configs, s->repeats,
                (unsigned long long)s->base_seed,
                (unsigned long long)(s->base_seed + (uint64_t)s->repeats - 1), s->repeats,
                s->repeats);
    if (s->random_draws)
        fprintf(out, "draws: seed %llu (trial k, parameter p: stream (seed, search, 0, k, p))\n",
                (unsigned long long)s->seed);
    if (s->method->describe_plan)
        s->method->describe_plan(s, out);
    fprintf(out, "layout: %d rank%s, %d per trial, %d group%s:", world_size,
            world_size == 1 ? "" : "s", s->ranks_per_trial, groups, groups == 1 ? "" : "s");
    for (int g = 0; g < groups; g++) {
        char ranks[64];
        int first = nni_search_group_first_rank(s, g);
        describe_ranks(ranks, sizeof ranks, first, s->ranks_per_trial);
        fprintf(out, "%s group %d: %s%s", g ? "," : "", g, ranks,
                first == 0 ? " (rank 0 also coordinates)" : "");
    }
    if (!s->coordinator_trains)
        fprintf(out, "; rank 0 coordinates only");
    fprintf(out, "\n");

    nni_text_table g = {0};
    if (!nni_text_table_alloc(&g, s->n_trials + 1, s->n_params + 2))
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    nni_text_table_set(&g, 0, 0, "trial");
    for (int p = 0; p < s->n_params; p++)
        nni_text_table_set(&g, 0, p + 1, s->params[p].path);
    nni_text_table_set(&g, 0, s->n_params + 1, "");
    for (int k = 1; k <= s->n_trials; k++) {
        char cell[512];
        snprintf(cell, sizeof cell, "%d", k);
        nni_text_table_set(&g, k, 0, cell);
        for (int p = 0; p < s->n_params; p++) {
            nni_search_param_text(s, p, k, cell, sizeof cell);
            nni_text_table_set(&g, k, p + 1, cell);
        }
        nn_cfg *cfg = NULL;
        nn_error why = {0};
        if (!nni_search_trial_decided(s, k))
            snprintf(cell, sizeof cell, "(chosen from the results before it)");
        else if (nni_search_build_config(s, k, &cfg, &why))
            snprintf(cell, sizeof cell, "does not fit the config: %.480s", why.msg);
        else
            cell[0] = '\0';
        if (s->repeats > 1) {
            char with_seed[sizeof cell];
            snprintf(with_seed, sizeof with_seed, "seed %llu%s%.480s",
                     (unsigned long long)(s->base_seed + (uint64_t)nni_search_repeat_of(s, k)),
                     cell[0] ? "  " : "", cell);
            memcpy(cell, with_seed, sizeof cell);
        }
        nn_cfg_free(cfg);
        nni_text_table_set(&g, k, s->n_params + 1, cell);
    }
    nni_text_table_print(&g, 1, out);
    nni_text_table_free(&g);
    fflush(out);
    return NN_OK;
}

/* ---- --status ------------------------------------------------------------------------- */

nn_status nn_search_print_status(const char *dir, FILE *out, nn_error *err)
{
    nn_search *s = NULL;
    nni_trial_table table;
    nn_status st = nni_search_load_dir(dir, &s, &table, err);
    if (st)
        return st;
    nni_report_leaderboard(&table, out, 0);
    int counts[TRIAL_FAILED + 1];
    nni_trials_count(&table, counts);
    if (counts[TRIAL_STARTED])
        fprintf(out, "(started: training now, or stopped with the job; a re-run continues "
                     "them from their checkpoints)\n");
    nni_trials_free(&table);
    nn_search_free(s);
    return NN_OK;
}
