/* A rank that stops answering, for the watchdog tests: trains CONFIG as `nntrain train`
 * would (key=value settings as --set gives them), but world rank RANK stops responding
 * (sleeps for good) before its optimizer step number STEP (0-based, counted over the run).
 * The other ranks then wait for it in that step's gradient sum until the watchdog ends the
 * job. The fault lives here, between steps, and not in the library's training step.
 *
 *   stall_rank CONFIG RANK STEP RUN_DIR [key=value ...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "nn/config.h"
#include "nn/parallel.h"
#include "nn/trainer.h"

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: stall_rank CONFIG RANK STEP RUN_DIR [key=value ...]\n");
        return 2;
    }
    const int stall_rank = atoi(argv[2]);
    const long stall_step = atol(argv[3]);
    nn_comm world;
    nn_error err = {0};
    if (nn_parallel_init(&argc, &argv, &world, &err)) {
        fprintf(stderr, "stall_rank: %s\n", err.msg);
        return 1;
    }
    nn_cfg *cfg = NULL;
    nn_status st = nn_cfg_load_file(argv[1], &cfg, &err);
    for (int i = 5; !st && i < argc; i++)
        st = nn_cfg_set(cfg, argv[i], &err);
    nn_train_options opts = {.config_name = argv[1], .run_dir = argv[4], .progress = 0};
    nn_trainer *trainer = NULL;
    if (!st)
        st = nn_trainer_open(cfg, &world, &opts, &trainer, &err);
    for (long step = 0; !st && !nn_trainer_done(trainer); step++) {
        if (world.world_rank == stall_rank && step == stall_step)
            for (;;)
                sleep(60);
        st = nn_trainer_step(trainer, &err);
    }
    if (!st)
        st = nn_trainer_finish(trainer, &err);
    nn_trainer_close(trainer, NULL);
    nn_cfg_free(cfg);
    if (st)
        fprintf(stderr, "rank %d: %s\n", world.rank, err.msg);
    nn_parallel_finalize();
    return st ? (int)st : 0;
}
