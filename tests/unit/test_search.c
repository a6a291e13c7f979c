/* Search internals: grid order and trial configs, seeded draws inside their ranges, config
 * errors, the journal (exact round trip, an unfinished last line), successive halving's
 * promotions from events, and the Gaussian-process surrogate against a known function. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/search.h"
#include "search/gp.h"
#include "search/method.h"

#define BASE                                                                                 \
    "data: {path: d.h5, val: {split: 0.1}}\n"                                                \
    "model:\n"                                                                               \
    "  input: [4]\n"                                                                         \
    "  layers:\n"                                                                            \
    "    - {name: a, type: dense, units: 8, activation: relu}\n"                             \
    "    - {name: b, type: dense, units: 3}\n"                                               \
    "train: {epochs: 9, batch_size: 4, optimizer: {type: adam, lr: 0.01}}\n"

static nn_search *parse(const char *yaml, nn_error *err)
{
    nn_cfg *cfg = NULL;
    if (nn_cfg_load_string(yaml, "test.yaml", &cfg, err))
        fail_msg("%s", err->msg);
    nn_search *s = NULL;
    nn_status st = nn_search_parse(cfg, "cfgs/lr-sweep.yaml", &s, err);
    nn_cfg_free(cfg);
    return st ? NULL : s;
}

static const char *value_at(const nn_cfg *cfg, const char *path)
{
    const nn_cfg *node = nn_cfg_lookup(cfg, path);
    return node ? nn_cfg_scalar(node) : NULL;
}

static void test_grid_order_and_configs(void **state)
{
    (void)state;
    nn_error err = {0};
    nn_search *s = parse(BASE "search:\n"
                              "  metric: val_accuracy\n"
                              "  parameters:\n"
                              "    train.optimizer.type: {values: [sgd, adam]}\n"
                              "    model.layers[0].units: [16, 32, 64]\n"
                              "    model.layers[1].activation: [tanh, relu]\n",
                         &err);
    assert_non_null(s);
    assert_int_equal(nn_search_trial_count(s), 12);
    assert_string_equal(nn_search_dir(s), "searches/lr-sweep");
    /* The last parameter varies fastest. */
    static const char *const expect[][3] = {{"sgd", "16", "tanh"}, {"sgd", "16", "relu"},
                                            {"sgd", "32", "tanh"}};
    for (int t = 1; t <= 3; t++) {
        nn_cfg *cfg = NULL;
        assert_int_equal(nn_search_trial_config(s, t, &cfg, &err), NN_OK);
        assert_string_equal(value_at(cfg, "train.optimizer.type"), expect[t - 1][0]);
        assert_string_equal(value_at(cfg, "model.layers[0].units"), expect[t - 1][1]);
        assert_string_equal(value_at(cfg, "model.layers[1].activation"), expect[t - 1][2]);
        assert_string_equal(value_at(cfg, "train.optimizer.lr"), "0.01"); /* untouched */
        assert_string_equal(value_at(cfg, "train.checkpoint.monitor"), "val_accuracy");
        assert_null(nn_cfg_get(cfg, "search"));
        nn_cfg_free(cfg);
    }
    nn_cfg *last = NULL;
    assert_int_equal(nn_search_trial_config(s, 12, &last, &err), NN_OK);
    assert_string_equal(value_at(last, "train.optimizer.type"), "adam");
    assert_string_equal(value_at(last, "model.layers[0].units"), "64");
    assert_string_equal(value_at(last, "model.layers[1].activation"), "relu");
    nn_cfg_free(last);
    char text[256];
    nn_search_describe_trial(s, 4, text, sizeof text);
    assert_string_equal(text, "train.optimizer.type=sgd model.layers[0].units=32 "
                              "model.layers[1].activation=relu");
    assert_int_not_equal(nn_search_trial_config(s, 13, &last, &err), NN_OK);
    nn_search_free(s);
}

static void test_whole_sections_as_values(void **state)
{
    (void)state;
    nn_error err = {0};
    nn_search *s = parse(BASE "search:\n"
                              "  parameters:\n"
                              "    train.optimizer:\n"
                              "      {values: [{type: sgd, lr: 0.1}, {type: adam}]}\n",
                         &err);
    assert_non_null(s);
    nn_cfg *cfg = NULL;
    assert_int_equal(nn_search_trial_config(s, 1, &cfg, &err), NN_OK);
    assert_string_equal(value_at(cfg, "train.optimizer.lr"), "0.1");
    nn_cfg_free(cfg);
    assert_int_equal(nn_search_trial_config(s, 2, &cfg, &err), NN_OK);
    assert_null(nn_cfg_lookup(cfg, "train.optimizer.lr"));
    nn_cfg_free(cfg);
    char text[128];
    nni_search_param_text(s, 0, 1, text, sizeof text);
    assert_string_equal(text, "{type: sgd, lr: 0.1}");
    nn_search_free(s);
}

#define RANDOM                                                                               \
    BASE "search:\n"                                                                         \
         "  method: random\n"                                                                \
         "  trials: 200\n"                                                                   \
         "  seed: %d\n"                                                                      \
         "  parameters:\n"                                                                   \
         "    train.optimizer.lr: {distribution: log_uniform, min: 1.0e-4, max: 0.1}\n"      \
         "    model.layers[0].units: {distribution: int_uniform, min: 3, max: 6}\n"          \
         "    train.optimizer.momentum: {distribution: uniform, min: 0.5, max: 0.9}\n"       \
         "    train.optimizer.weight_decay: {distribution: normal, mu: 1, sigma: 0.1}\n"     \
         "    train.optimizer.type: {values: [sgd, adam, rmsprop]}\n"

static void test_random_draws(void **state)
{
    (void)state;
    nn_error err = {0};
    char yaml[2048];
    snprintf(yaml, sizeof yaml, RANDOM, 5);
    nn_search *a = parse(yaml, &err), *b = parse(yaml, &err);
    snprintf(yaml, sizeof yaml, RANDOM, 6);
    nn_search *c = parse(yaml, &err);
    assert_non_null(a);
    assert_non_null(c);
    assert_int_equal(nn_search_trial_count(a), 200);
    int differ = 0, seen_units[7] = {0}, seen_type[3] = {0};
    double lr_log_mean = 0, mu = 0;
    for (int t = 1; t <= 200; t++) {
        char x[128], y[128], z[128];
        nn_search_describe_trial(a, t, x, sizeof x);
        nn_search_describe_trial(b, t, y, sizeof y);
        nn_search_describe_trial(c, t, z, sizeof z);
        assert_string_equal(x, y);
        differ += strcmp(x, z) != 0;
        char v[64];
        nni_search_param_text(a, 0, t, v, sizeof v);
        double lr = atof(v);
        assert_true(lr >= 1e-4 && lr <= 0.1);
        lr_log_mean += log10(lr) / 200;
        nni_search_param_text(a, 1, t, v, sizeof v);
        int units = atoi(v);
        assert_true(units >= 3 && units <= 6);
        assert_null(strchr(v, '.'));
        seen_units[units]++;
        nni_search_param_text(a, 2, t, v, sizeof v);
        assert_true(atof(v) >= 0.5 && atof(v) <= 0.9);
        nni_search_param_text(a, 3, t, v, sizeof v);
        mu += atof(v) / 200;
        nni_search_param_text(a, 4, t, v, sizeof v);
        seen_type[!strcmp(v, "sgd") ? 0 : !strcmp(v, "adam") ? 1 : 2]++;
    }
    assert_true(differ > 190);
    for (int u = 3; u <= 6; u++)
        assert_true(seen_units[u] > 20);
    for (int k = 0; k < 3; k++)
        assert_true(seen_type[k] > 30);
    assert_true(fabs(lr_log_mean - (-2.5)) < 0.2); /* log-uniform: mean exponent -2.5 */
    assert_true(fabs(mu - 1) < 0.05);
    /* Draws past the budget continue the same stream (--predict's candidates). */
    nn_cfg *cfg = NULL;
    assert_int_equal(nni_search_build_config(a, 201, &cfg, &err), NN_OK);
    nn_cfg_free(cfg);
    nn_search_free(a);
    nn_search_free(b);
    nn_search_free(c);
}

static void expect_error(const char *search_section, const char *fragment)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml, BASE "%s", search_section);
    nn_error err = {0};
    nn_search *s = parse(yaml, &err);
    if (s || !strstr(err.msg, fragment))
        fail_msg("expected an error containing '%s', got '%s'", fragment, s ? "none" : err.msg);
    assert_int_equal(err.status, NN_ERR_CONFIG);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_error("search: {parameters: {train.epochs: [1, 2]}, metod: grid}",
                 "did you mean 'method'");
    expect_error("search: {method: grid, parameters: {train.optimizer.lr: {distribution: uniform, "
                 "min: 0.1, max: 0.2}}}", "values: [...] for every parameter");
    expect_error("search: {method: random, parameters: {train.optimizer.lr: [0.1]}}",
                 "needs trials");
    expect_error("search:\n  parameters:\n    model.layers[5].units: [1, 2]\n", "past the end");
    expect_error("search: {parameters: {train.optimizer.lr: {distribution: log_uniform, min: 0, "
                 "max: 1}}, method: random, trials: 3}", "min > 0");
    expect_error("search: {parameters: {train.optimizer.lr: 0.1}}", "expected {values");
    expect_error("search: {parameters: {train: {optimizer: {lr: [1]}}}}", "one dotted key");
    expect_error("search: {metric: val_acc, parameters: {train.optimizer.lr: [1]}}",
                 "did you mean 'val_accuracy'");
    expect_error("search: {method: halving, parameters: {train.epochs: [1, 2]}}",
                 "halving sets train.epochs");
    expect_error("search: {parameters: {train.optimizer.lr: {values: [1], distribution: normal}}}",
                 "categorical only");
    expect_error("search: {ranks_per_trial: 0, parameters: {train.optimizer.lr: [1]}}",
                 "must be >= 1");
    /* The metric is a validation metric: no data.val, no search. */
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    assert_int_equal(nn_cfg_load_string("data: {path: d.h5}\nmodel: {input: [4], mlp: [3]}\n"
                                        "train: {epochs: 1}\n"
                                        "search: {parameters: {train.optimizer.lr: [1]}}\n",
                                        "t.yaml", &cfg, &err), NN_OK);
    nn_search *s = NULL;
    assert_int_equal(nn_search_parse(cfg, NULL, &s, &err), NN_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "needs a validation split"));
    nn_cfg_free(cfg);
}

static void test_halving_rungs(void **state)
{
    (void)state;
    nn_error err = {0};
    nn_search *s = parse(BASE "search:\n"
                              "  method: halving\n"
                              "  eta: 3\n"
                              "  parameters:\n"
                              "    train.optimizer.lr: [1, 2, 3, 4, 5, 6, 7, 8, 9]\n",
                         &err);
    assert_non_null(s);
    assert_int_equal(s->n_rungs, 3);
    assert_int_equal(s->rung_epochs[0], 1);
    assert_int_equal(s->rung_epochs[1], 3);
    assert_int_equal(s->rung_epochs[2], 9);
    assert_int_equal(s->rung_size[1], 3);
    assert_int_equal(s->rung_size[2], 1);

    /* val_loss: lower is better. Trials with higher lr get lower loss here. */
    nni_trial_table table;
    assert_int_equal(nni_trials_init(&table, s, &err), NN_OK);
    table.live = 1;
    int trial, rung;
    for (int t = 1; t <= 9; t++) {
        assert_int_equal(nni_trials_next(&table, &trial, &rung), 1);
        assert_int_equal(trial, t);
        assert_int_equal(rung, 0);
        nni_search_event start = {.kind = EVENT_START, .trial = t, .rung = 0};
        nni_trials_apply(&table, &start);
        assert_int_equal(table.t[t - 1].state, TRIAL_RUNNING);
    }
    assert_int_equal(nni_trials_next(&table, &trial, &rung), 0); /* a rung is training */
    for (int t = 1; t <= 9; t++) {
        nni_search_event end = {.kind = EVENT_END, .trial = t, .rung = 0, .outcome = OUTCOME_OK,
                            .paused = 1, .epochs = 1, .best_epoch = 1, .metric = 10.0 - t};
        if (t == 9) { /* the best would be trial 9, but it fails */
            end.outcome = OUTCOME_FAILED;
            end.status = NN_ERR_NUMERIC;
        }
        nni_trials_apply(&table, &end);
        if (t < 9)
            assert_int_equal(table.t[t - 1].state, TRIAL_WAITING);
    }
    assert_int_equal(table.t[8].state, TRIAL_FAILED);
    for (int t = 1; t <= 5; t++)
        assert_int_equal(table.t[t - 1].state, TRIAL_PRUNED);
    for (int t = 6; t <= 8; t++)
        assert_int_equal(table.t[t - 1].state, TRIAL_PENDING);
    assert_int_equal(nni_trials_next(&table, &trial, &rung), 1);
    assert_int_equal(trial, 6);
    assert_int_equal(rung, 1);
    /* Rung 1: trial 7 stops early (early stopping): finished, not continued. */
    for (int t = 6; t <= 8; t++) {
        nni_search_event end = {.kind = EVENT_END, .trial = t, .rung = 1, .outcome = OUTCOME_OK,
                            .paused = t != 7, .epochs = t == 7 ? 2 : 3, .metric = 5.0 - t};
        nni_trials_apply(&table, &end);
    }
    assert_int_equal(table.t[6].state, TRIAL_FINISHED);
    assert_int_equal(table.t[7].state, TRIAL_PENDING); /* 8 is best of the others */
    assert_int_equal(table.t[5].state, TRIAL_PRUNED);
    nni_search_event start = {.kind = EVENT_START, .trial = 8, .rung = 2};
    nni_trials_apply(&table, &start);
    assert_int_equal(nni_trials_next(&table, &trial, &rung), 0);
    /* An interrupted trial is pending again; a finished one ends the search. */
    nni_search_event stop = {.kind = EVENT_END, .trial = 8, .rung = 2,
                         .outcome = OUTCOME_INTERRUPTED};
    nni_trials_apply(&table, &stop);
    assert_int_equal(table.t[7].state, TRIAL_PENDING);
    nni_trials_apply(&table, &start);
    nni_search_event end = {.kind = EVENT_END, .trial = 8, .rung = 2, .outcome = OUTCOME_OK,
                        .epochs = 9, .best_epoch = 8, .metric = -5};
    nni_trials_apply(&table, &end);
    assert_int_equal(nni_trials_next(&table, &trial, &rung), -1);
    assert_int_equal(nni_trials_best(&table), 8);
    int counts[TRIAL_FAILED + 1];
    nni_trials_count(&table, counts);
    assert_int_equal(counts[TRIAL_FINISHED], 2);
    assert_int_equal(counts[TRIAL_PRUNED], 6);
    assert_int_equal(counts[TRIAL_FAILED], 1);
    int order[9];
    nni_trials_ranking(&table, order);
    assert_int_equal(order[0], 8);
    assert_int_equal(order[1], 7);
    assert_int_equal(order[8], 9);
    nni_trials_free(&table);
    nn_search_free(s);
}

static void collect(void *ctx, const nni_search_event *e)
{
    nni_search_event *out = ctx;
    while (out->kind)
        out++;
    *out = *e;
}

static void test_journal(void **state)
{
    (void)state;
    char dir[] = "/tmp/nn-journal-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/journal", dir);
    nn_error err = {0};
    nni_search_journal j;
    assert_int_equal(nni_journal_open(path, "nntrain-search 1 method=grid", &j, &err), NN_OK);
    nni_search_event events[3] = {
        {.kind = EVENT_START, .trial = 3, .rung = 1, .group = 2},
        {.kind = EVENT_END, .trial = 3, .rung = 1, .group = 2, .outcome = OUTCOME_OK,
         .paused = 1, .epochs = 4, .best_epoch = 2, .metric = 0.1 + 0.2, .seconds = 1.5},
        {.kind = EVENT_END, .trial = 4, .outcome = OUTCOME_FAILED, .status = 4,
         .metric = NAN, .reason = "non-finite loss at epoch 1, step 2; reason=x\nsecond line"},
    };
    for (int i = 0; i < 3; i++)
        assert_int_equal(nni_journal_append(&j, &events[i], &err), NN_OK);
    nni_journal_close(&j);
    /* A line the job did not finish writing. */
    FILE *f = fopen(path, "a");
    fputs("end trial=5 rung=0 gro", f);
    fclose(f);
    nni_search_event read[8];
    memset(read, 0, sizeof read);
    char header[128];
    assert_int_equal(nni_journal_read(path, header, sizeof header, collect, read, &err), NN_OK);
    assert_string_equal(header, "nntrain-search 1 method=grid");
    assert_int_equal(read[0].kind, EVENT_START);
    assert_int_equal(read[0].group, 2);
    assert_int_equal(read[1].trial, 3);
    assert_int_equal(read[1].paused, 1);
    assert_true(read[1].metric == 0.1 + 0.2); /* exact */
    assert_int_equal(read[2].outcome, OUTCOME_FAILED);
    assert_int_equal(read[2].status, 4);
    assert_true(isnan(read[2].metric));
    assert_string_equal(read[2].reason, "non-finite loss at epoch 1, step 2; reason=x second line");
    assert_int_equal(read[3].kind, 0); /* the unfinished line is not an event */
    /* Reopening cuts it off, so the next event starts on a line of its own. */
    assert_int_equal(nni_journal_open(path, "ignored", &j, &err), NN_OK);
    assert_int_equal(nni_journal_append(&j, &events[0], &err), NN_OK);
    nni_journal_close(&j);
    memset(read, 0, sizeof read);
    assert_int_equal(nni_journal_read(path, header, sizeof header, collect, read, &err), NN_OK);
    assert_int_equal(read[3].kind, EVENT_START);
    assert_int_equal(read[4].kind, 0);
    f = fopen(path, "a");
    fputs("bogus line\n", f);
    fclose(f);
    assert_int_equal(nni_journal_read(path, header, sizeof header, NULL, NULL, &err), NN_ERR_DATA);
    unlink(path);
    rmdir(dir);
}

static void test_gaussian_process(void **state)
{
    (void)state;
    /* y = sin(3x) + x on [0, 2], 12 points; predictions between them are close. */
    double x[12], y[12];
    for (int i = 0; i < 12; i++) {
        x[i] = 2.0 * i / 11;
        y[i] = sin(3 * x[i]) + x[i];
    }
    nni_gp *gp = NULL;
    nn_error err = {0};
    assert_int_equal(nni_gp_fit(x, y, 12, 1, &gp, &err), NN_OK);
    double worst = 0;
    for (int i = 0; i < 11; i++) {
        double at = (x[i] + x[i + 1]) / 2, mean, sd;
        nni_gp_predict(gp, &at, &mean, &sd);
        double miss = fabs(mean - (sin(3 * at) + at));
        worst = miss > worst ? miss : worst;
        assert_true(sd >= 0);
    }
    assert_true(worst < 0.05);
    double mean, sd, at = x[4];
    nni_gp_predict(gp, &at, &mean, &sd);
    assert_true(fabs(mean - y[4]) < 0.05);
    double far = 10;
    double far_sd;
    nni_gp_predict(gp, &far, &mean, &far_sd);
    assert_true(far_sd > 5 * sd); /* unsure away from the data */
    assert_true(nni_gp_loo_rmse(gp) < 0.2);
    nni_gp_free(gp);
}

/* Every row of the method table is complete, found by its name, and listed by the help. */
static void test_method_table(void **state)
{
    (void)state;
    char help[4096] = "";
    FILE *out = fmemopen(help, sizeof help - 1, "w");
    assert_non_null(out);
    nn_search_print_methods(out);
    fclose(out);
    int rows = 0;
    for (int i = 0; nni_search_methods[i]; i++, rows++) {
        const nni_search_method *m = nni_search_methods[i];
        assert_non_null(m->name);
        assert_non_null(m->help);
        assert_non_null(m->parse);
        assert_non_null(m->value);
        assert_non_null(m->next);
        assert_ptr_equal(nni_search_method_find(m->name), m);
        /* Its line, then the keys it reads. */
        char entry[512];
        int used = snprintf(entry, sizeof entry, "    %-8s %s\n", m->name, m->help);
        for (int k = 0; m->keys && m->keys[k]; k++)
            used += snprintf(entry + used, sizeof entry - (size_t)used, "%s%s",
                             k ? ", search." : "             keys: search.", m->keys[k]);
        if (m->keys && m->keys[0])
            snprintf(entry + used, sizeof entry - (size_t)used, "\n");
        if (!strstr(help, entry))
            fail_msg("--help does not list method %s as\n%s\nin\n%s", m->name, entry, help);
    }
    assert_true(rows >= 3);
    assert_null(nni_search_method_find("bogus"));
}

/* A key of another method is refused by every method that does not read it, and the
 * message names each method that does (the names come from the table). */
static void test_method_keys_refused(void **state)
{
    (void)state;
    for (int i = 0; nni_search_methods[i]; i++) {
        const nni_search_method *owner = nni_search_methods[i];
        for (int k = 0; owner->keys && owner->keys[k]; k++) {
            const char *key = owner->keys[k];
            for (int j = 0; nni_search_methods[j]; j++) {
                const nni_search_method *other = nni_search_methods[j];
                if (nni_search_method_takes_key(other, key))
                    continue;
                char yaml[2048];
                snprintf(yaml, sizeof yaml, BASE "search:\n  method: %s\n%s  %s: 2\n"
                         "  parameters:\n    train.optimizer.lr: [1, 2]\n", other->name,
                         nni_search_method_takes_key(other, "trials") ? "  trials: 4\n" : "",
                         key);
                nn_error err = {0};
                nn_search *s = parse(yaml, &err);
                if (s)
                    fail_msg("method %s accepted %s", other->name, key);
                assert_int_equal(err.status, NN_ERR_CONFIG);
                assert_non_null(strstr(err.msg, key));
                for (int m = 0; nni_search_methods[m]; m++)
                    if (nni_search_method_takes_key(nni_search_methods[m], key) &&
                        !strstr(err.msg, nni_search_methods[m]->name))
                        fail_msg("'%s' does not name method %s", err.msg,
                                 nni_search_methods[m]->name);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_order_and_configs),
        cmocka_unit_test(test_whole_sections_as_values),
        cmocka_unit_test(test_random_draws),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_halving_rungs),
        cmocka_unit_test(test_journal),
        cmocka_unit_test(test_gaussian_process),
        cmocka_unit_test(test_method_table),
        cmocka_unit_test(test_method_keys_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
