/* The search journal reader (nni_journal_read) on arbitrary files: every failure one clear
 * line, every event it accepts within the ranges the search relies on. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "search/journal.h"

static void check_event(void *ctx, const nni_search_event *e)
{
    (void)ctx;
    if ((e->kind != EVENT_START && e->kind != EVENT_END) || e->trial < 1 || e->rung < 0 ||
        e->rung >= SEARCH_MAX_RUNGS) {
        fprintf(stderr, "fuzz: the journal reader accepted event kind %d trial %d rung %d\n",
                e->kind, e->trial, e->rung);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[600], header[1024];
    fuzz_scratch_path(path, sizeof path, "journal");
    fuzz_write_file(path, data, size);
    nn_error err = {0};
    nn_status st = nni_journal_read(path, header, sizeof header, check_event, NULL, &err);
    fuzz_check_error(st, &err, "nni_journal_read");
    return 0;
}
