/* The search journal: one line per event, appended, written with one write() and fsync'ed
 * before the search goes on, so a search killed at any moment (SIGKILL, a node failure)
 * has a complete record of every trial that started and every result that came back. The
 * tables (trials.csv, best.yaml) are views rebuilt from it.
 *
 *   nntrain-search 1 method=grid trials=8 space=7f0e... base=12ab...
 *   start trial=3 rung=0 group=1
 *   end trial=3 rung=0 group=1 outcome=ok status=0 paused=0 epochs=3 best_epoch=2
 *       metric=0.81234567890123451 seconds=4.25 reason=
 *
 * (one line per event; reason is the rest of the line). Metrics are written with 17
 * significant digits so a resumed search reads back exactly what it recorded. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/files.h"
#include "search/journal.h"
#include "search/method.h"

#define MAGIC "nntrain-search 1 "

void nni_journal_header(const nn_search *s, char *out, size_t size)
{
    snprintf(out, size, MAGIC "method=%s trials=%d space=%016llx base=%016llx",
             s->method->name, s->n_trials, (unsigned long long)s->space_hash,
             (unsigned long long)s->base_hash);
}

static const char *const outcome_names[] = {"ok", "failed", "interrupted"};

static void format_event(const nni_search_event *e, char *line, size_t size)
{
    if (e->kind == EVENT_START) {
        snprintf(line, size, "start trial=%d rung=%d group=%d\n", e->trial, e->rung, e->group);
        return;
    }
    char reason[SEARCH_REASON];
    snprintf(reason, sizeof reason, "%s", e->reason);
    for (char *c = reason; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    snprintf(line, size, "end trial=%d rung=%d group=%d outcome=%s status=%d paused=%d "
                         "epochs=%d best_epoch=%d metric=%.17g seconds=%.3f reason=%s\n",
             e->trial, e->rung, e->group, outcome_names[e->outcome], e->status, e->paused,
             e->epochs, e->best_epoch, e->metric, e->seconds, reason);
}

/* "key=value" fields up to reason=, which takes the rest of the line. */
static int parse_event(char *line, nni_search_event *e)
{
    memset(e, 0, sizeof *e);
    e->metric = NAN;
    char *reason = strstr(line, " reason=");
    if (reason) {
        *reason = '\0';
        snprintf(e->reason, sizeof e->reason, "%s", reason + 8);
    }
    char *save = NULL;
    char *word = strtok_r(line, " ", &save);
    if (!word)
        return 0;
    if (!strcmp(word, "start"))
        e->kind = EVENT_START;
    else if (!strcmp(word, "end"))
        e->kind = EVENT_END;
    else
        return 0;
    int seen_trial = 0, seen_outcome = e->kind == EVENT_START;
    while ((word = strtok_r(NULL, " ", &save))) {
        char *eq = strchr(word, '=');
        if (!eq)
            return 0;
        *eq = '\0';
        const char *key = word, *value = eq + 1;
        if (!strcmp(key, "trial"))
            e->trial = atoi(value), seen_trial = 1;
        else if (!strcmp(key, "rung"))
            e->rung = atoi(value);
        else if (!strcmp(key, "group"))
            e->group = atoi(value);
        else if (!strcmp(key, "status"))
            e->status = atoi(value);
        else if (!strcmp(key, "paused"))
            e->paused = atoi(value);
        else if (!strcmp(key, "epochs"))
            e->epochs = atoi(value);
        else if (!strcmp(key, "best_epoch"))
            e->best_epoch = atoi(value);
        else if (!strcmp(key, "metric"))
            e->metric = strtod(value, NULL);
        else if (!strcmp(key, "seconds"))
            e->seconds = strtod(value, NULL);
        else if (!strcmp(key, "outcome")) {
            for (int i = 0; i < 3; i++)
                if (!strcmp(value, outcome_names[i])) {
                    e->outcome = (trial_outcome)i;
                    seen_outcome = 1;
                }
        }
    }
    return seen_trial && seen_outcome && e->trial > 0 && e->rung >= 0 &&
           e->rung < SEARCH_MAX_RUNGS;
}

nn_status nni_journal_read(const char *path, char *header, size_t header_size,
                           void (*visit)(void *ctx, const nni_search_event *event), void *ctx,
                           nn_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return nn_fail(err, errno == ENOENT ? NN_ERR_CONFIG : NN_ERR_OTHER, "%s: %s", path,
                       strerror(errno));
    char line[2048];
    int number = 0;
    nn_status st = NN_OK;
    if (header_size)
        header[0] = '\0'; /* stays empty for a journal the job died creating */
    while (fgets(line, sizeof line, f)) {
        number++;
        size_t len = strlen(line);
        if (len == 0 || line[len - 1] != '\n')
            break; /* unfinished last line: the job died while writing it */
        line[len - 1] = '\0';
        if (number == 1) {
            if (strncmp(line, MAGIC, strlen(MAGIC))) {
                st = nn_fail(err, NN_ERR_DATA, "%s: not a search journal", path);
                break;
            }
            snprintf(header, header_size, "%s", line);
            continue;
        }
        nni_search_event e;
        if (!parse_event(line, &e)) {
            st = nn_fail(err, NN_ERR_DATA, "%s:%d: unreadable journal line", path, number);
            break;
        }
        if (visit)
            visit(ctx, &e);
    }
    fclose(f);
    return st;
}

/* A line appended and synced; a failed write leaves the journal as it was (nni_append_fd). */
static nn_status write_all(int fd, const char *text, const char *path, nn_error *err)
{
    nn_status st = nni_append_fd(fd, path, text, strlen(text), err);
    if (!st && fsync(fd) != 0)
        return nn_fail(err, NN_ERR_OTHER, "%s: fsync failed: %s", path, strerror(errno));
    return st;
}

/* Cuts the file after its last newline: a line the job did not finish writing. */
static nn_status cut_unfinished_line(int fd, const char *path, nn_error *err)
{
    off_t size = lseek(fd, 0, SEEK_END);
    off_t keep = size;
    char c;
    while (keep > 0) {
        if (pread(fd, &c, 1, keep - 1) != 1)
            return nn_fail(err, NN_ERR_OTHER, "%s: cannot read: %s", path, strerror(errno));
        if (c == '\n')
            break;
        keep--;
    }
    if (keep != size && (ftruncate(fd, keep) != 0 || fsync(fd) != 0))
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot truncate: %s", path, strerror(errno));
    return NN_OK;
}

nn_status nni_journal_open(const char *path, const char *header, nni_search_journal *j,
                           nn_error *err)
{
    j->fd = -1;
    snprintf(j->path, sizeof j->path, "%s", path);
    int created = access(path, F_OK) != 0;
    j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (j->fd < 0)
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot open: %s", path, strerror(errno));
    nn_status st = cut_unfinished_line(j->fd, path, err);
    if (!st && (created || lseek(j->fd, 0, SEEK_END) == 0)) {
        char line[512];
        snprintf(line, sizeof line, "%s\n", header);
        st = write_all(j->fd, line, path, err);
    }
    if (st)
        nni_journal_close(j);
    return st;
}

nn_status nni_journal_append(nni_search_journal *j, const nni_search_event *event, nn_error *err)
{
    char line[2048];
    format_event(event, line, sizeof line);
    if (line[strlen(line) - 1] != '\n') /* a reason cut short by the buffer */
        line[strlen(line) - 1] = '\n';
    return write_all(j->fd, line, j->path, err);
}

void nni_journal_close(nni_search_journal *j)
{
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
}
