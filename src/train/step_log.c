/* metrics-steps.csv: one row every train.log_every_steps optimizer steps (see step_log.h).
 * Only rank 0 writes; the gradient norm is read from the summed gradients, which every rank
 * holds in full while the log is on (setup.c). */
#include "train/step_log.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/files.h"

nn_status nni_step_log_parse(const nn_cfg *train_cfg, nni_step_log *log, nn_error *err)
{
    memset(log, 0, sizeof *log);
    log->fd = -1;
    nn_status st = nn_cfg_read_int(train_cfg, "log_every_steps", 0, &log->every, err);
    if (!st && log->every < 0)
        return nn_cfg_fail(err, nn_cfg_get(train_cfg, "log_every_steps"),
                           "must be >= 0 (0: no per-step log)");
    return st;
}

/* Keeps the rows at or before (epochs_done + 1, steps_done): the steps a resumed run will
 * not repeat. Rows of steps after its checkpoint are dropped, as those steps run again. */
static nn_status keep_rows_before(const char *path, int epochs_done, int64_t steps_done,
                                  nn_error *err)
{
    FILE *in = fopen(path, "r");
    if (!in)
        return NN_OK; /* the earlier run did not log steps: start a new file */
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    if (!out) {
        fclose(in);
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    nni_step_write_csv_header(out);
    char line[1024];
    while (fgets(line, sizeof line, in)) {
        int epoch = 0;
        long long step = 0;
        if (sscanf(line, "%d,%lld,", &epoch, &step) != 2)
            continue; /* the header */
        if (epoch <= epochs_done || (epoch == epochs_done + 1 && step <= steps_done))
            fputs(line, out);
    }
    fclose(in);
    nn_status st = fclose(out) != 0 ? nn_fail(err, NN_ERR_OTHER, "out of memory")
                                    : nni_write_file_atomic(path, text, size, err);
    free(text);
    return st;
}

/* One row (the header when `row` is NULL), formatted in memory and appended at once. */
static nn_status append_row(nni_step_log *log, const nni_step_record *row, nn_error *err)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    if (row)
        nni_step_record_write_csv(row, f);
    else
        nni_step_write_csv_header(f);
    nn_status st = fclose(f) != 0 ? nn_fail(err, NN_ERR_OTHER, "out of memory")
                                  : nni_append_fd(log->fd, log->path, text, size, err);
    free(text);
    return st;
}

nn_status nni_step_log_open(nni_step_log *log, const char *run_dir, int resume, int epochs_done,
                            int64_t steps_done, nn_error *err)
{
    if (log->every == 0)
        return NN_OK;
    char path[600];
    snprintf(path, sizeof path, "%s/metrics-steps.csv", run_dir);
    nn_status st = resume ? keep_rows_before(path, epochs_done, steps_done, err) : NN_OK;
    if (st)
        return st;
    log->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (log->fd < 0)
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot write: %s", path, strerror(errno));
    snprintf(log->path, sizeof log->path, "%s", path);
    return lseek(log->fd, 0, SEEK_END) == 0 ? append_row(log, NULL, err) : NN_OK;
}

static int logged(const nni_step_log *log, int64_t step)
{
    return log->fd >= 0 && step % log->every == 0;
}

void nni_step_log_measure(nni_step_log *log, const nn_model *model, int64_t step,
                          double loss_sum, double correct, int64_t samples, int classification)
{
    log->samples += samples;
    if (!logged(log, step))
        return;
    double sq = 0;
    for (int64_t i = 0; i < model->n_param_floats; i++)
        sq += (double)model->grad_data[i] * model->grad_data[i];
    log->row.loss = samples ? loss_sum / (double)samples : NAN;
    log->row.accuracy = classification && samples ? correct / (double)samples : NAN;
    log->row.grad_norm = sqrt(sq);
}

nn_status nni_step_log_write(nni_step_log *log, int epoch, int64_t step, double lr,
                             double step_seconds, nn_error *err)
{
    if (!logged(log, step))
        return NN_OK;
    const double seconds = step_seconds - log->seconds_at_row;
    log->row.epoch = epoch;
    log->row.step = step;
    log->row.lr = lr;
    log->row.samples_per_s = seconds > 0 ? (double)log->samples / seconds : NAN;
    log->samples = 0;
    log->seconds_at_row = step_seconds;
    return append_row(log, &log->row, err);
}

void nni_step_log_close(nni_step_log *log)
{
    if (log->fd >= 0)
        close(log->fd);
    log->fd = -1;
}
