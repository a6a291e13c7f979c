/* A search directory read from outside the search (nntrain search --status / --predict),
 * while it runs or after it ended: search.yaml gives the space, the journal the events. */
#include <stdlib.h>
#include <string.h>

#include "search/search_internal.h"

static void visit_event(void *ctx, const nni_search_event *e)
{
    nni_trials_apply(ctx, e);
}

nn_status nni_search_load_dir(const char *dir, nn_search **search, nni_trial_table *table,
                              nn_error *err)
{
    *search = NULL;
    memset(table, 0, sizeof *table);
    char path[700];
    snprintf(path, sizeof path, "%s/search.yaml", dir);
    nn_cfg *cfg = NULL;
    nn_status st = nn_cfg_load_file(path, &cfg, err);
    if (st) {
        nn_fail_prefix(err, "%s is not a search directory: ", dir);
        return st;
    }
    st = nn_search_parse(cfg, NULL, search, err);
    nn_cfg_free(cfg);
    if (st)
        return st;
    snprintf((*search)->dir, sizeof (*search)->dir, "%s", dir);
    if ((st = nni_trials_init(table, *search, err)))
        goto fail;
    char header[512], expected[512];
    snprintf(path, sizeof path, "%s/journal", dir);
    if ((st = nni_journal_read(path, header, sizeof header, visit_event, table, err)))
        goto fail;
    nni_journal_header(*search, expected, sizeof expected);
    if (header[0] && strcmp(header, expected)) {
        st = nn_fail(err, NN_ERR_DATA, "%s: the journal does not belong to %s/search.yaml",
                     path, dir);
        goto fail;
    }
    return NN_OK;
fail:
    nni_trials_free(table);
    nn_search_free(*search);
    *search = NULL;
    return st;
}

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
