/* The search directory and the trials' run directories (src/search/directory.c): opening
 * a search directory (refusing one that holds another search) and replaying its journal to
 * resume, reading one from outside a search (--status, --predict), and what a trial's run
 * directory holds (a checkpoint to continue from, or a result the journal missed). */
#ifndef NNI_SEARCH_DIRECTORY_H
#define NNI_SEARCH_DIRECTORY_H

#include <stddef.h>

#include "search/journal.h"
#include "search/trials.h"

/* Creates or reopens s->dir and locks it for this process (*lock, core/dir_lock.h): the
 * table gets the journal's events, search.yaml is written, the journal is opened for
 * appending and trials.csv and best.yaml are rewritten. NN_ERR_CONFIG for a directory that
 * another live search holds, or whose journal belongs to another search (naming the first
 * difference). */
nn_status nni_search_dir_open(const nn_search *s, nni_trial_table *table,
                              nni_search_journal *journal, int *lock, nn_error *err);
/* Loads dir/search.yaml and replays dir/journal into a table (for --status, --predict). */
nn_status nni_search_load_dir(const char *dir, nn_search **search, nni_trial_table *table,
                              nn_error *err);

/* dir/trial-NNN: where a trial trains. */
void nni_trial_run_dir(const nn_search *s, int trial, char *out, size_t size);
/* Whether the trial's run directory holds a checkpoint the trainer can resume from. */
int nni_trial_has_checkpoint(const nn_search *s, int trial);
/* When the trial's last checkpoint already holds its result at a rung (the job ended after
 * the trial finished and before the result was journaled): 1 with the end event filled,
 * *epoch the checkpoint's epoch. 0 otherwise. */
int nni_trial_recover_result(const nn_search *s, int trial, int rung, int group,
                             nni_search_event *event, int *epoch);

#endif
