/* The search journal (src/search/journal.c): the append-only record of every trial start
 * and end, from which the trial table, trials.csv and best.yaml are rebuilt. */
#ifndef NNI_SEARCH_JOURNAL_H
#define NNI_SEARCH_JOURNAL_H

#include <stddef.h>

#include "search/space.h"

typedef enum event_kind { EVENT_START = 's', EVENT_END = 'e' } event_kind;
typedef enum trial_outcome {
    OUTCOME_OK,          /* trained to its target (or stopped early by early stopping) */
    OUTCOME_FAILED,      /* an error: recorded with its status and reason, never retried */
    OUTCOME_INTERRUPTED, /* stopped by a signal after a checkpoint: continues on resume */
} trial_outcome;

typedef struct nni_search_event {
    event_kind kind;
    int trial, rung, group;
    /* EVENT_END: */
    trial_outcome outcome;
    int status; /* nn_status of a failure */
    int paused; /* stopped at the rung's epochs, to be continued if promoted */
    int epochs, best_epoch;
    double metric, seconds;
    char reason[SEARCH_REASON];
} nni_search_event;

typedef struct nni_search_journal {
    int fd;
    char path[600];
} nni_search_journal;

/* Reads every complete line; an unfinished last line (the job died while writing it) is
 * ignored. NN_ERR_DATA for a file that is not a journal. header receives the first line
 * ("" when the file holds no complete line). */
nn_status nni_journal_read(const char *path, char *header, size_t header_size,
                           void (*visit)(void *ctx, const nni_search_event *event), void *ctx,
                           nn_error *err);
/* Opens for appending (creating it with `header` when absent), cutting off an unfinished
 * last line first. */
nn_status nni_journal_open(const char *path, const char *header, nni_search_journal *j,
                           nn_error *err);
/* One line, written and fsync'ed before returning. */
nn_status nni_journal_append(nni_search_journal *j, const nni_search_event *event,
                             nn_error *err);
void nni_journal_close(nni_search_journal *j);
/* The header line that identifies a search (method, trials, hashes). */
void nni_journal_header(const nn_search *s, char *out, size_t size);

#endif
