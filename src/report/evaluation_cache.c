/* The evaluation of a checkpoint kept beside it (RUN/report-eval.txt), so that a report
 * rewritten after every epoch (--watch) or opened again runs the model only when the
 * checkpoint changed: the file is keyed by the checkpoint's name, size and modification
 * time and the split. A missing, stale or unreadable cache is simply recomputed; failing to
 * write it only costs the next report the forward pass.
 *
 * Format (text, one item a line): "nntrain-report-eval 1", the key line, then
 * "samples N classification C classes K points P wrong W", K class names, K rows of K
 * counts, W lines "row true predicted data-uri", P lines "predicted true". */
#include "report/evaluation.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/files.h"

static int cache_key(const char *checkpoint, const char *split, char *key, size_t size)
{
    struct stat st;
    if (stat(checkpoint, &st) != 0)
        return 0;
    const char *name = strrchr(checkpoint, '/');
    snprintf(key, size, "key %s %lld %lld %ld %s", name ? name + 1 : checkpoint,
             (long long)st.st_size, (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec,
             split);
    return 1;
}

static void cache_path(const char *checkpoint, char *path, size_t size)
{
    const char *slash = strrchr(checkpoint, '/');
    int dir_len = slash ? (int)(slash - checkpoint) : 1;
    snprintf(path, size, "%.*s/report-eval.txt", dir_len, slash ? checkpoint : ".");
}

/* Reads one line (any length) into *line; 0 at the end of the file. */
static int next_line(FILE *f, char **line, size_t *cap)
{
    ssize_t n = getline(line, cap, f);
    if (n <= 0)
        return 0;
    if ((*line)[n - 1] == '\n')
        (*line)[n - 1] = '\0';
    return 1;
}

int nni_evaluation_cache_load(const char *checkpoint, const char *split, nni_evaluation *e)
{
    char key[1400], path[1100];
    if (!cache_key(checkpoint, split, key, sizeof key))
        return 0;
    cache_path(checkpoint, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    memset(e, 0, sizeof *e);
    snprintf(e->split, sizeof e->split, "%s", split);
    char *line = NULL;
    size_t cap = 0;
    long long samples;
    int classification, classes, points, wrong;
    int ok = next_line(f, &line, &cap) && strcmp(line, "nntrain-report-eval 1") == 0 &&
             next_line(f, &line, &cap) && strcmp(line, key) == 0 && next_line(f, &line, &cap) &&
             sscanf(line, "samples %lld classification %d classes %d points %d wrong %d",
                    &samples, &classification, &classes, &points, &wrong) == 5 &&
             classes >= 0 && classes <= 100000 && points >= 0 && points <= NNI_EVAL_MAX_POINTS &&
             wrong >= 0 && wrong <= NNI_EVAL_MAX_SHOWN;
    if (ok) {
        e->samples = samples;
        e->classification = classification;
        e->classes = classes;
        if (classification) {
            e->class_names = calloc((size_t)classes + 1, sizeof *e->class_names);
            e->confusion = calloc((size_t)classes * (size_t)classes + 1, sizeof *e->confusion);
            ok = e->class_names && e->confusion;
        } else {
            e->predicted = malloc(NNI_EVAL_MAX_POINTS * sizeof *e->predicted);
            e->truth = malloc(NNI_EVAL_MAX_POINTS * sizeof *e->truth);
            ok = e->predicted && e->truth;
        }
    }
    for (int c = 0; ok && e->classification && c < classes; c++)
        ok = next_line(f, &line, &cap) && (e->class_names[c] = strdup(line)) != NULL;
    for (int r = 0; ok && e->classification && r < classes; r++) {
        ok = next_line(f, &line, &cap);
        char *p = line;
        for (int c = 0; ok && c < classes; c++) {
            char *end;
            e->confusion[r * classes + c] = strtoll(p, &end, 10);
            ok = end != p;
            p = end;
        }
    }
    for (int k = 0; ok && k < wrong; k++) {
        int used = 0;
        long long row;
        ok = next_line(f, &line, &cap) &&
             sscanf(line, "%lld %d %d %n", &row, &e->wrong_true[k], &e->wrong_pred[k], &used) == 3 &&
             e->wrong_true[k] >= 0 && e->wrong_true[k] < classes && e->wrong_pred[k] >= 0 &&
             e->wrong_pred[k] < classes;
        if (ok) {
            e->wrong_row[k] = row;
            if (line[used])
                nni_text_puts(&e->wrong_image[k], line + used);
            e->n_wrong_shown = k + 1;
        }
    }
    for (int i = 0; ok && i < points; i++) {
        ok = next_line(f, &line, &cap) &&
             sscanf(line, "%lf %lf", &e->predicted[i], &e->truth[i]) == 2;
        e->n_points = i + 1;
    }
    free(line);
    fclose(f);
    if (!ok)
        nni_evaluation_free(e);
    return ok;
}

void nni_evaluation_cache_store(const char *checkpoint, const nni_evaluation *e)
{
    char key[1400], path[1100];
    if (!cache_key(checkpoint, e->split, key, sizeof key))
        return;
    cache_path(checkpoint, path, sizeof path);
    nni_text t = {0};
    nni_text_printf(&t, "nntrain-report-eval 1\n%s\nsamples %lld classification %d classes %d "
                    "points %d wrong %d\n", key, (long long)e->samples, e->classification,
                    e->classes, e->n_points, e->n_wrong_shown);
    for (int c = 0; e->classification && c < e->classes; c++) {
        const char *name = e->class_names[c];
        nni_text_puts(&t, strchr(name, '\n') ? "?" : name);
        nni_text_puts(&t, "\n");
    }
    for (int r = 0; e->classification && r < e->classes; r++)
        for (int c = 0; c < e->classes; c++)
            nni_text_printf(&t, "%lld%c", e->confusion[r * e->classes + c],
                            c + 1 < e->classes ? ' ' : '\n');
    for (int k = 0; k < e->n_wrong_shown; k++)
        nni_text_printf(&t, "%lld %d %d %s\n", (long long)e->wrong_row[k], e->wrong_true[k],
                        e->wrong_pred[k], e->wrong_image[k].data ? e->wrong_image[k].data : "");
    for (int i = 0; i < e->n_points; i++)
        nni_text_printf(&t, "%.9g %.9g\n", e->predicted[i], e->truth[i]);
    nn_error ignored = {0};
    if (!t.failed)
        nni_write_file_atomic(path, t.data, t.len, &ignored);
    nni_text_free(&t);
}
