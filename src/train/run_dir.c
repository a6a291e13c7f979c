/* The run directory and the files in it other than checkpoints: rank 0 chooses the
 * directory (a new runs/<name>[-k], --run-dir, or the one to resume) and every rank learns
 * it; log.txt, config.yaml (the resolved config) and metrics.csv (one row per epoch, without
 * accuracy columns for a regression run, rewritten whole when a run resumes). A refused
 * resume leaves every file as it was. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/dir_lock.h"
#include "core/files.h"
#include "io/history_internal.h"
#include "nn/version.h"
#include "train/train_internal.h"

/* Rank 0 picks the run directory: --resume DIR, or <runs_dir>/<name> when train.resume is
 * auto and it holds last.h5, or a new <runs_dir>/<name>[-k] (an earlier run is never
 * written into). Returns 1 in *resume when the run continues from a checkpoint. */
static nn_status choose_run_dir(nn_trainer *t, int *resume, nn_error *err)
{
    const char *runs_dir = "runs", *name = NULL, *resume_mode = "never";
    static const char *const resume_modes[] = {"never", "auto", NULL};
    int auto_resume = 0;
    const nn_cfg *train_cfg = nn_cfg_get(t->cfg, "train");
    nn_status st;
    if ((st = nn_cfg_read_string(t->cfg, "runs_dir", "runs", &runs_dir, err)) ||
        (st = nn_cfg_read_string(t->cfg, "name", NULL, &name, err)) ||
        (st = nn_cfg_read_choice(train_cfg, "resume", resume_modes, resume_mode, &auto_resume,
                                 err)))
        return st;
    char stem[128] = "run";
    if (!name && t->opts.config_name) {
        const char *base = strrchr(t->opts.config_name, '/');
        base = base ? base + 1 : t->opts.config_name;
        snprintf(stem, sizeof stem, "%s", base);
        char *dot = strrchr(stem, '.');
        if (dot && dot != stem)
            *dot = '\0';
    }
    if (!name)
        name = stem;
    *resume = 0;
    if (t->opts.resume_dir) {
        snprintf(t->run_dir, sizeof t->run_dir, "%s", t->opts.resume_dir);
        struct stat info;
        if (stat(t->run_dir, &info) != 0 || !S_ISDIR(info.st_mode))
            return nn_fail(err, NN_ERR_CONFIG, "--resume %s: no such run directory", t->run_dir);
        *resume = 1;
        return NN_OK;
    }
    if (t->opts.run_dir) {
        snprintf(t->run_dir, sizeof t->run_dir, "%s", t->opts.run_dir);
        if (nni_make_dirs(t->run_dir) != 0)
            return nn_fail(err, NN_ERR_OTHER, "%s: cannot create run directory: %s",
                           t->run_dir, strerror(errno));
    } else {
        if (nni_make_dirs(runs_dir) != 0)
            return nn_fail(err, NN_ERR_OTHER, "%s: cannot create directory: %s", runs_dir,
                           strerror(errno));
        snprintf(t->run_dir, sizeof t->run_dir, "%s/%s", runs_dir, name);
        if (auto_resume) {
            char last[600];
            snprintf(last, sizeof last, "%s/last.h5", t->run_dir);
            if (access(last, F_OK) == 0) {
                *resume = 1;
                return NN_OK;
            }
        }
        for (int k = 1;; k++) {
            if (k > 1)
                snprintf(t->run_dir, sizeof t->run_dir, "%s/%s-%d", runs_dir, name, k);
            if (mkdir(t->run_dir, 0777) == 0)
                break;
            if (errno != EEXIST)
                return nn_fail(err, NN_ERR_OTHER, "%s: cannot create run directory: %s",
                               t->run_dir, strerror(errno));
            if (auto_resume && k == 1)
                break; /* requeued before the first checkpoint: start over in place */
        }
    }
    return NN_OK;
}

/* The resolved config under a comment naming the nntrain that ran it (a comment, so the
 * file still loads as a config). */
static nn_status write_config_yaml(const char *path, const char *yaml, nn_error *err)
{
    const char *version = nn_version_full();
    size_t size = strlen(version) + strlen(yaml) + 64;
    char *text = malloc(size);
    if (!text)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    int len = snprintf(text, size, "# written by nntrain %s\n%s", version, yaml);
    nn_status st = nni_write_file_atomic(path, text, (size_t)len, err);
    free(text);
    return st;
}

/* Appends one row of metrics.csv (its header when `record` is NULL): formatted in memory,
 * then written at once, so that a failed write leaves the earlier rows (nni_append_fd). */
static nn_status append_csv(nn_trainer *t, const nn_epoch_record *record, nn_error *err)
{
    char path[600];
    snprintf(path, sizeof path, "%s/metrics.csv", t->run_dir);
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    if (record)
        nni_epoch_record_write_csv(record, f, t->classification);
    else
        nni_history_write_csv_header(f, t->classification);
    nn_status st = fclose(f) != 0 ? nn_fail(err, NN_ERR_OTHER, "out of memory")
                                  : nni_append_fd(t->metrics_fd, path, text, size, err);
    free(text);
    return st;
}

nn_status nni_trainer_prepare_run_dir(nn_trainer *t, nn_error *err)
{
    /* Rank 0 decides; every rank learns the directory and whether to resume. */
    struct {
        int status, resume;
        char dir[512];
        char msg[512];
    } decision = {0};
    if (t->is_root) {
        decision.status = choose_run_dir(t, &decision.resume, err);
        /* Before anything in it is read or written: a second job on the same directory
         * (a --resume while the run goes on, two --run-dir alike) is refused here. */
        if (!decision.status)
            decision.status = nni_dir_lock(t->run_dir, "run directory", &t->run_dir_lock, err);
        snprintf(decision.dir, sizeof decision.dir, "%s", t->run_dir);
        if (decision.status)
            snprintf(decision.msg, sizeof decision.msg, "%.500s", err->msg);
    }
    nn_comm_broadcast(t->comm, &decision, sizeof decision, 0);
    if (decision.status)
        return t->is_root ? (nn_status)decision.status
                          : nn_fail(err, (nn_status)decision.status, "%s", decision.msg);
    snprintf(t->run_dir, sizeof t->run_dir, "%s", decision.dir);
    char path[600];
    nn_status st;
    if (decision.resume && (st = nni_trainer_resume(t, err)))
        return st;
    if (!t->is_root)
        return NN_OK;
    /* Files are touched only once resuming has succeeded: a refused resume changes nothing. */
    snprintf(t->log_path, sizeof t->log_path, "%s/log.txt", t->run_dir);
    t->log_fd = open(t->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
                                  (decision.resume ? 0 : O_TRUNC), 0666);
    if (t->log_fd < 0)
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot create: %s", t->log_path,
                       strerror(errno));
    if (t->resume_note[0])
        nni_trainer_say(t, "%s\n", t->resume_note);
    snprintf(path, sizeof path, "%s/config.yaml", t->run_dir);
    if ((st = write_config_yaml(path, t->config_yaml, err)))
        return st;
    snprintf(path, sizeof path, "%s/metrics.csv", t->run_dir);
    /* A resumed run's metrics.csv was rewritten from its checkpoint's history. */
    t->metrics_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
                               (decision.resume ? 0 : O_TRUNC), 0666);
    if (t->metrics_fd < 0)
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot write: %s", path, strerror(errno));
    if (!decision.resume && (st = append_csv(t, NULL, err)))
        return st;
    return nni_step_log_open(&t->step_log, t->run_dir, decision.resume, t->start_epoch,
                             t->start_step, err);
}

nn_status nni_trainer_rewrite_metrics(nn_trainer *t, nn_error *err)
{
    if (!t->is_root)
        return NN_OK;
    char path[700];
    snprintf(path, sizeof path, "%s/metrics.csv", t->run_dir);
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    nni_history_write_csv_header(f, t->classification);
    for (int i = 0; i < t->n_history; i++)
        nni_epoch_record_write_csv(&t->history[i], f, t->classification);
    nn_status st = fclose(f) != 0 ? nn_fail(err, NN_ERR_OTHER, "out of memory")
                                  : nni_write_file_atomic(path, text, size, err);
    free(text);
    return st;
}

nn_status nni_trainer_write_metrics(nn_trainer *t, const nn_epoch_record *record,
                                    nn_error *err)
{
    return t->metrics_fd >= 0 ? append_csv(t, record, err) : NN_OK;
}
