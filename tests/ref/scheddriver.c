/* Schedule driver for the PyTorch reference check of learning-rate schedules:
 *
 *   scheddriver SPEC.yaml
 *
 * SPEC.yaml: `schedule:` (as train.schedule), `lr:`, `epochs:`, `steps_per_epoch:` and
 * optionally `metrics: [m1, m2, ...]`, the monitored metric after each epoch (fed to
 * reduce_on_plateau). Prints "epoch step lr" for every optimizer step, lr with 17 digits. */
#include <stdio.h>
#include <stdlib.h>

#include "nn/config.h"
#include "nn/sched.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: scheddriver SPEC.yaml\n");
        return 1;
    }
    nn_error err = {0};
    nn_cfg *spec = NULL;
    nn_sched *sched = NULL;
    double lr = 0;
    int64_t epochs = 0, steps = 0;
    if (nn_cfg_load_file(argv[1], &spec, &err) ||
        nn_cfg_read_double(spec, "lr", 0.1, &lr, &err) ||
        nn_cfg_read_int(spec, "epochs", 10, &epochs, &err) ||
        nn_cfg_read_int(spec, "steps_per_epoch", 1, &steps, &err) ||
        nn_sched_build(nn_cfg_get(spec, "schedule"), lr, steps, (int)epochs, &sched, &err)) {
        fprintf(stderr, "scheddriver: %s\n", err.msg);
        return 1;
    }
    const nn_cfg *metrics = nn_cfg_get(spec, "metrics");
    for (int epoch = 0; epoch < epochs; epoch++) {
        for (int64_t step = 0; step < steps; step++)
            printf("%d %lld %.17g\n", epoch, (long long)step, nn_sched_lr(sched, epoch, step));
        if (metrics && epoch < nn_cfg_size(metrics))
            nn_sched_epoch_end(sched, atof(nn_cfg_scalar(nn_cfg_at(metrics, epoch))));
    }
    nn_sched_free(sched);
    nn_cfg_free(spec);
    return 0;
}
