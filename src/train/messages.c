/* What the trainer tells the user (rank 0 prints, and copies into the run's log.txt): the
 * start-up lines, each epoch's line (and gradient norms on request), the allreduce wait at
 * the end, the numerical-failure message, and the progress bar on a terminal: one line
 * rewritten in place at most ten times a second, with samples/s, ETA and the running loss
 * and accuracy. When output is not a terminal (SLURM logs, pipes) no bar is drawn and only
 * the per-epoch lines appear; under mpirun the bar is drawn when mpirun's own output is a
 * terminal (rank 0 alone draws). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bf16_rate.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/gemm.h"
#include "core/gemm_backend.h"
#include "core/gemm_bf16.h"
#include "core/gemm_openblas.h"
#include "core/kernel_set.h"
#include "core/memory_usage.h"
#include "layers/conv_util.h"
#include "train/train_internal.h"

/* One message appended to log.txt as it was printed, written at once so that a failed
 * write leaves whole lines (nni_append_fd). The first failure closes the log and is kept
 * for nni_trainer_log_status: the run goes on to the next point where it can stop. */
static void append_log(nn_trainer *t, const char *fmt, va_list ap)
{
    char line[1024], *text = line;
    va_list copy;
    va_copy(copy, ap);
    int len = vsnprintf(line, sizeof line, fmt, copy);
    va_end(copy);
    if (len < 0)
        return;
    if ((size_t)len >= sizeof line) {
        text = malloc((size_t)len + 1);
        if (!text) {
            nn_fail(&t->log_failure, NN_ERR_OTHER, "out of memory");
            return;
        }
        vsnprintf(text, (size_t)len + 1, fmt, ap);
    }
    if (nni_append_fd(t->log_fd, t->log_path, text, (size_t)len, &t->log_failure)) {
        close(t->log_fd);
        t->log_fd = -1;
    }
    if (text != line)
        free(text);
}

void nni_trainer_say(nn_trainer *t, const char *fmt, ...)
{
    if (!t->is_root)
        return;
    va_list ap;
    if (!t->opts.quiet) {
        nni_progress_clear(t);
        va_start(ap, fmt);
        vfprintf(t->out, fmt, ap);
        va_end(ap);
        fflush(t->out);
    }
    if (t->log_fd >= 0 && !t->log_failure.status) {
        va_start(ap, fmt);
        append_log(t, fmt, ap);
        va_end(ap);
    }
}

nn_status nni_trainer_log_status(const nn_trainer *t, nn_error *err)
{
    return t->log_failure.status ? nn_fail(err, t->log_failure.status, "%s", t->log_failure.msg)
                                 : NN_OK;
}

/* MiB of a split's samples and targets: in this rank's own memory, and in its node's
 * shared copy. */
static void split_mib(const nn_dataset *ds, double *own, double *shared)
{
    const double x = (double)ds->n * (double)ds->sample_size * (ds->x_is_uint8 ? 1 : 4);
    const double y = ds->labels || ds->targets ? (double)ds->n * (double)ds->target_width * 4
                                               : 0; /* streamed samples as targets */
    const char *base = ds->mapping;
    const char *targets = ds->labels ? (const char *)ds->labels : (const char *)ds->targets;
    const int y_shared = base && targets >= base && targets < base + ds->mapping_bytes;
    if (ds->x_u8 || ds->x_f32) /* not when streamed */
        *(base ? shared : own) += x / (1 << 20);
    *(y_shared ? shared : own) += y / (1 << 20);
}

static void print_data_memory(nn_trainer *t)
{
    double own = 0, shared = 0;
    const nn_dataset *splits[3] = {&t->train, t->has_val && !t->val_from_train ? &t->val : NULL,
                                   t->has_test ? &t->test : NULL};
    for (int i = 0; i < 3; i++)
        if (splits[i])
            split_mib(splits[i], &own, &shared);
    const int ranks = t->node_cache.node.size;
    if (t->data_cache == DATA_CACHE_NONE) {
        double buffers = nni_stream_buffer_mib(t->train_stream);
        buffers += t->val_stream ? nni_stream_buffer_mib(t->val_stream) : 0;
        buffers += t->test_stream ? nni_stream_buffer_mib(t->test_stream) : 0;
        nni_trainer_say(t, "data: cache none (samples streamed from the files, the next batch "
                           "read while a step runs): %.1f MiB of targets and %.1f MiB of "
                           "buffers and chunk cache per rank\n", own, buffers);
    } else if (t->data_cache == DATA_CACHE_NODE)
        nni_trainer_say(t, "data: cache node (one copy per node, shared by its %d rank%s, filled "
                           "by all of them): %.1f MiB per node, %.1f MiB per rank\n", ranks,
                        ranks > 1 ? "s" : "", shared, own);
    else
        nni_trainer_say(t, "data: cache memory (a copy per rank): %.1f MiB per rank, %.1f MiB "
                           "per node of %d rank%s\n", own, own * ranks, ranks, ranks > 1 ? "s" : "");
}

void nni_trainer_print_memory(nn_trainer *t)
{
    enum { LISTED = 16 }; /* ranks listed one by one; the sums cover every rank */
    nni_memory_usage mine;
    int known = nni_memory_usage_read(&mine);
    nn_comm_max_int(t->comm, &known); /* every rank takes part in the sum below */
    double all[2 * LISTED + 2] = {0};
    const int r = t->comm->rank;
    if (r < LISTED) {
        all[2 * r] = mine.peak_resident_mib;
        all[2 * r + 1] = mine.proportional_mib;
    }
    all[2 * LISTED] = mine.peak_resident_mib;
    all[2 * LISTED + 1] = mine.proportional_mib;
    nn_comm_sum_doubles(t->comm, all, 2 * LISTED + 2);
    if (!known)
        return;
    char peak[256] = "", proportional[256] = "";
    size_t used_peak = 0, used_prop = 0;
    const int listed = t->comm->size < LISTED ? t->comm->size : LISTED;
    for (int k = 0; k < listed; k++) {
        used_peak += (size_t)snprintf(peak + used_peak, sizeof peak - used_peak, " %.1f",
                                      all[2 * k]);
        used_prop += (size_t)snprintf(proportional + used_prop, sizeof proportional - used_prop,
                                      " %.1f", all[2 * k + 1]);
    }
    nni_trainer_say(t, "memory per rank (MiB): peak resident%s%s; proportional set%s%s (sum "
                       "%.1f)\n", peak, listed < t->comm->size ? " ..." : "", proportional,
                    listed < t->comm->size ? " ..." : "", all[2 * LISTED + 1]);
}

void nni_trainer_print_start(nn_trainer *t)
{
    char shape[64];
    nni_trainer_say(t, "nntrain: %d rank%s x %d thread%s (%s), global batch %lld "
                       "(%lld per rank), %lld training samples%s%s\n",
                   t->comm->size, t->comm->size > 1 ? "s" : "", t->threads,
                   t->threads > 1 ? "s" : "", t->layout, (long long)t->global_batch,
                   (long long)t->capacity, (long long)t->sampler.n_total,
                   t->has_val ? ", validation " : "", t->has_val ? "on" : "");
    if (t->oversampled)
        nni_trainer_say(t, "oversampling: %lld training rows added to the smaller classes\n",
                        (long long)t->oversampled);
    char kernels[128];
    nni_kernels_describe(kernels, sizeof kernels);
    nni_trainer_say(t, "kernels: %s\n", kernels);
    char gemm[160];
    nni_gemm_backend_describe(gemm, sizeof gemm);
    nni_trainer_say(t, "gemm: %s\n", gemm);
    char note[320];
    if (nni_gemm_backend_current()->gemm_nn == nni_openblas_gemm_nn &&
        nni_openblas_core_note(nni_gemm_core(), nni_kernels_widest(), note, sizeof note))
        nni_trainer_say(t, "%s\n", note);
    int winograd = 0;
    for (int i = 0; i < t->model->n_layers; i++)
        winograd += nni_conv2d_winograd(t->model->layers[i]);
    if (winograd)
        nni_trainer_say(t, "convolutions: %d by Winograd's F(2x2, 3x3) / F(2x2, 5x5) "
                           "(train.winograd: false for direct products)\n", winograd);
    if (t->model->bf16)
        nni_trainer_say(t, "precision: bf16 products, float sums and weights; %s\n",
                        nni_bf16_describe());
    if (t->model->bf16 && nni_bf16_native_chosen() &&
        nni_bf16_rate_note(nni_bf16_rate_measure(), note, sizeof note))
        nni_trainer_say(t, "%s\n", note);
    if (t->repro.unit)
        nni_trainer_say(t, "reproducible: bitwise, units of %lld samples, gradients summed "
                           "in one fixed tree order over the units through %s\n",
                        (long long)t->repro.unit,
                        t->repro.shared ? "node shared memory" : t->comm->size > 1
                        ? "MPI (Alltoallv)" : "this rank alone");
    else if (t->comm->size > 1) {
        char sizes[256] = "";
        size_t used = 0;
        const int n = nni_grad_sync_bucket_count(t->sync);
        for (int b = 0; b < n && used < sizeof sizes - 32; b++) {
            int64_t start, end;
            nni_grad_sync_bucket_range(t->sync, b, &start, &end);
            used += (size_t)snprintf(sizes + used, sizeof sizes - used, "%s%.2f", b ? ", " : "",
                                     (double)(end - start) * sizeof(float) / (1 << 20));
        }
        nni_trainer_say(t, "gradient allreduce: %s, %d bucket%s (%s MiB, output end first), "
                           "overlap %s\n", nni_grad_sync_transport(t->sync), n, n > 1 ? "s" : "",
                       sizes, t->overlap ? "on" : "off");
    }
    if (t->comm->size > 1) {
        char update[256];
        nni_grad_sync_describe_update(t->sync, update, sizeof update);
        nni_trainer_say(t, "optimizer update: %s\n", update);
    }
    print_data_memory(t);
    if (t->chunk_shuffle.enabled)
        nni_trainer_say(t, "data: shuffle chunks of %lld rows, in windows of %lld chunks (%lld "
                        "chunks of training rows)\n", (long long)t->chunk_shuffle.chunk_rows,
                        (long long)t->chunk_shuffle.window, (long long)t->chunk_shuffle.n_groups);
    nni_trainer_say(t, "model: input %s, %lld parameters (%lld trainable), %s, run %s\n",
                    nn_shape_format(t->model->input_shape, shape, sizeof shape),
                    (long long)nn_model_count_params(t->model),
                    (long long)nn_model_count_trainable(t->model), nn_optim_name(t->opt),
                    t->run_dir);
    t->progress = t->opts.progress < 0 ? nni_is_terminal(t->out) : t->opts.progress;
}

static void fmt_metric(char *buf, size_t size, const char *name, double value)
{
    if (isnan(value))
        buf[0] = '\0';
    else
        snprintf(buf, size, "  %s %.4f", name, value);
}

/* The sum of squares of one parameter tensor's gradients. */
static double grad_sum_of_squares(const nn_model *model, const nn_param *p)
{
    const float *g = model->grad_data + p->offset;
    double sq = 0;
    for (int64_t i = 0; i < p->size; i++)
        sq += (double)g[i] * g[i];
    return sq;
}

void nni_trainer_print_epoch(nn_trainer *t, const nn_epoch_record *m)
{
    char acc[48], vl[48], va[48];
    fmt_metric(acc, sizeof acc, "accuracy", m->accuracy);
    fmt_metric(vl, sizeof vl, "val_loss", m->val_loss);
    fmt_metric(va, sizeof va, "val_accuracy", m->val_accuracy);
    nni_trainer_say(t, "epoch %d/%d  loss %.4f%s%s%s  lr %.3g  %.0f samples/s  %.1fs\n",
                    m->epoch, t->epochs, m->loss, acc, vl, va, m->lr, m->samples_per_second,
                    m->seconds);
    if (!t->log_grad_norms)
        return;
    /* Gradient norms of the epoch's last step, per parameter tensor. */
    char line[2048];
    size_t used = 0;
    for (int k = 0; k < t->model->n_params && used < sizeof line - 64; k++) {
        const nn_param *p = &t->model->params[k];
        if (p->flags & NN_PARAM_STATE)
            continue;
        used += (size_t)snprintf(line + used, sizeof line - used, "%s%s %.3g", used ? ", " : "",
                                 p->name, sqrt(grad_sum_of_squares(t->model, p)));
    }
    nni_trainer_say(t, "gradient norms: %s\n", line);
}

/* The first layer, in forward order, whose output holds a value that is not finite: where
 * an overflow or a division by zero (a formula activation's, say) happened, with what the
 * layer computes. The rows past the last batch hold earlier batches' finite values. */
static void first_non_finite_output(nn_trainer *t, char *text, size_t size)
{
    nn_model *model = t->model;
    for (int i = 0; i < model->n_layers; i++) {
        const nn_layer *layer = model->layers[i];
        const int64_t n = t->capacity * nn_shape_size(layer->out_shape);
        int64_t k = 0;
        while (layer->out && k < n && isfinite(layer->out[k]))
            k++;
        if (!layer->out || k == n)
            continue;
        char what[256] = "";
        if (layer->ops && layer->ops->describe)
            layer->ops->describe(layer, what, sizeof what);
        snprintf(text, size, "the first value that is not finite is in the output of layer "
                 "'%s' (%s: %s); ", layer->name, layer->ops ? layer->ops->type : "input", what);
        return;
    }
}

nn_status nni_trainer_numeric_failure(nn_trainer *t, int epoch, int64_t batch, nn_error *err)
{
    /* Name the layer whose gradient is not finite or has the largest norm: where the
     * blow-up shows first when reading the model from the output back. */
    nn_model *model = t->model;
    nni_grad_sync_gather(t->sync);
    const char *worst = "?";
    double worst_norm = -1;
    for (int k = 0; k < model->n_params; k++) {
        const nn_param *p = &model->params[k];
        if (p->flags & NN_PARAM_STATE)
            continue;
        const double sq = grad_sum_of_squares(model, p);
        double norm = isfinite(sq) ? sqrt(sq) : INFINITY;
        if (!(norm <= worst_norm)) {
            worst_norm = norm;
            worst = p->layer->name;
        }
    }
    nni_progress_clear(t);
    char origin[384] = "";
    first_non_finite_output(t, origin, sizeof origin);
    return nn_fail(err, NN_ERR_NUMERIC, "non-finite loss at epoch %d, step %lld; largest "
                   "gradient norm in layer '%s' (%g); %slower the learning rate or clip "
                   "gradients (train.clip)", epoch + 1, (long long)batch + 1, worst, worst_norm,
                   origin);
}

/* How much of the step the gradient allreduce could not hide behind backward, on average
 * over the ranks. The slowest rank waits least (only for the communication itself); the
 * others also wait for it, so the spread shows how evenly the ranks ran. */
void nni_trainer_report_allreduce_wait(nn_trainer *t, nn_train_result *result)
{
    const int n = t->comm->size;
    double *fractions = calloc((size_t)n, sizeof *fractions);
    if (!fractions)
        return;
    if (t->step_seconds > 0)
        fractions[t->comm->rank] = (nni_grad_sync_get_stats(t->sync).wait_seconds +
                                    t->repro.wait_seconds) / t->step_seconds;
    nn_comm_sum_doubles(t->comm, fractions, n);
    double sum = 0, low = fractions[0], high = fractions[0];
    for (int r = 0; r < n; r++) {
        sum += fractions[r];
        low = fractions[r] < low ? fractions[r] : low;
        high = fractions[r] > high ? fractions[r] : high;
    }
    free(fractions);
    result->allreduce_wait_fraction = sum / n;
    nni_trainer_say(t, "allreduce wait: %.1f%% of step time (mean over ranks; %.1f%% to %.1f%%), "
                       "overlap %s, %d ranks\n", 100 * sum / n, 100 * low, 100 * high,
                   t->overlap ? "on" : "off", n);
}

/* ---- the progress bar ------------------------------------------------------------------ */

/* Whether the launcher that started this rank (its parent: mpirun, orted, slurmstepd)
 * writes to a terminal. Open MPI hands its ranks pipes and forwards what they write, so the
 * rank's own descriptor says nothing about where the text ends up; a rank on another node
 * than mpirun has a daemon as its parent, whose output is not a terminal. */
static int launcher_on_terminal(void)
{
    char link[64], target[256];
    snprintf(link, sizeof link, "/proc/%ld/fd/1", (long)getppid());
    ssize_t len = readlink(link, target, sizeof target - 1);
    if (len <= 0)
        return 0;
    target[len] = '\0';
    return !strncmp(target, "/dev/pts/", 9) || !strncmp(target, "/dev/tty", 8);
}

int nni_is_terminal(FILE *f)
{
    /* Started on its own, the descriptor tells (Open MPI's singleton start sets PMIX_RANK in
     * the process: nn_parallel_launched() reads the environment from before MPI_Init). */
    if (!nn_parallel_launched())
        return isatty(fileno(f));
    struct stat info;
    if (fstat(fileno(f), &info) != 0 || !(S_ISFIFO(info.st_mode) || isatty(fileno(f))))
        return 0; /* the rank's output goes to a file of its own */
    return launcher_on_terminal();
}

void nni_trainer_load_progress(void *ctx, int64_t rows_read, int64_t rows, size_t row_bytes)
{
    nn_trainer *t = ctx;
    const double now = nni_clock_seconds();
    if (rows_read < rows && now - t->last_progress < 0.1)
        return;
    t->last_progress = now;
    const char *whose = t->data_cache == DATA_CACHE_NODE ? " (this rank's share of the node "
                                                          "copy)" : "";
    fprintf(t->out, "\r\033[Kdata: loading /%s%s: %lld of %lld rows, %.1f of %.1f MiB (%.0f%%), "
            "%.1f s", t->loading_split, whose, (long long)rows_read, (long long)rows,
            (double)rows_read * (double)row_bytes / (1 << 20),
            (double)rows * (double)row_bytes / (1 << 20),
            rows ? 100.0 * (double)rows_read / (double)rows : 100.0, now - t->loading_start);
    if (rows_read == rows) {
        fputc('\n', t->out);
        t->last_progress = 0; /* the finished line stays */
    }
    fflush(t->out);
}

void nni_progress_clear(nn_trainer *t)
{
    if (t->progress && t->last_progress > 0) {
        fprintf(t->out, "\r\033[K");
        t->last_progress = 0;
    }
}

void nni_progress_update(nn_trainer *t, int epoch, int64_t done, int64_t total,
                         const step_totals *tot, double epoch_start)
{
    if (!t->progress || !t->is_root || t->opts.quiet)
        return;
    double now = nni_clock_seconds();
    if (done < total && now - t->last_progress < 0.1)
        return;
    t->last_progress = now;
    double elapsed = now - epoch_start;
    double rate = elapsed > 0 ? (double)tot->samples / elapsed : 0;
    double eta = done > 0 ? elapsed * (double)(total - done) / (double)done : 0;
    enum { WIDTH = 24 };
    char bar[WIDTH + 1];
    int filled = (int)(WIDTH * done / total);
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '=' : i == filled ? '>' : ' ';
    bar[WIDTH] = '\0';
    fprintf(t->out, "\r\033[Kepoch %d/%d [%s] %lld/%lld  %.0f samples/s  ETA %d:%02d  loss %.4f",
            epoch + 1, t->epochs, bar, (long long)done, (long long)total, rate,
            (int)eta / 60, (int)eta % 60,
            tot->samples ? tot->loss_sum / (double)tot->samples : 0.0);
    if (t->classification && tot->samples)
        fprintf(t->out, "  accuracy %.4f", tot->correct / (double)tot->samples);
    fflush(t->out);
}
