/* nntrain verify CHECKPOINT...: reads every dataset of each file (checksums included) and
 * says which epoch it holds. */
#include <stdio.h>

#include "cli/cli.h"
#include "nn/ckpt.h"

int nni_cmd_verify(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    if (argc < 2) {
        nn_fail(&err, NN_ERR_CONFIG, "usage: nntrain verify CHECKPOINT.h5 ...");
        return nni_cli_report(world, &err);
    }
    if (world->rank != 0)
        return 0;
    int worst = 0;
    for (int i = 1; i < argc; i++) {
        nn_ckpt_meta meta;
        nn_status st = nn_ckpt_verify(argv[i], &err);
        if (!st)
            st = nn_ckpt_read_meta(argv[i], &meta, &err);
        if (st) {
            nni_cli_report(world, &err);
            worst = worst ? worst : (int)st;
            continue;
        }
        printf("%s: ok (epoch %d%s, %d history rows)\n", argv[i], meta.epoch,
               meta.step ? ", mid-epoch" : "", meta.n_history);
        nn_ckpt_meta_free(&meta);
    }
    return worst;
}
