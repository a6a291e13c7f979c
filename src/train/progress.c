/* The progress bar rank 0 draws on a terminal: one line rewritten in place at most ten
 * times a second, with samples/s, ETA and the running loss and accuracy. When output is
 * not a terminal (SLURM logs, pipes) nothing is drawn and only the per-epoch lines appear. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/clock.h"
#include "train/train_internal.h"

int nn_is_terminal(FILE *f)
{
    /* mpirun hands its ranks a pseudo-terminal even when its own output goes to a file or a
     * pipe, so under mpirun the bar is drawn only on request (--progress). */
    if (getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_RANK") || getenv("PMIX_RANK"))
        return 0;
    return isatty(fileno(f));
}

void nn_progress_clear(nn_trainer *t)
{
    if (t->progress && t->last_progress > 0) {
        fprintf(t->out, "\r\033[K");
        t->last_progress = 0;
    }
}

void nn_progress_update(nn_trainer *t, int epoch, int64_t done, int64_t total,
                        const step_totals *tot, double epoch_start)
{
    if (!t->progress || !t->is_root || t->opts.quiet)
        return;
    double now = nn_clock_seconds();
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
