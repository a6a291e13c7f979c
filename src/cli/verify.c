/* nntrain verify CHECKPOINT...: reads every dataset of each file (checksums included) and
 * says which epoch it holds. */
#include <stdio.h>

#include "cli/cli.h"
#include "nn/ckpt.h"

static const nni_cli_flag verify_flags[] = {
    {NULL, 0, NULL, NULL},
};

static const nni_cli_spec verify_spec = {
    "verify", "CHECKPOINT.h5...", "check that checkpoints are complete and uncorrupted", 1, -1,
    verify_flags};

int nni_cmd_verify(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nni_cli_args args;
    if (nni_cli_parse(argc, argv, &verify_spec, &args, &err))
        return nni_cli_report(world, &err);
    if (args.help || world->rank != 0)
        return 0;
    int worst = 0;
    for (int i = 0; i < args.n_operands; i++) {
        const char *path = args.operands[i];
        nn_ckpt_meta meta;
        nn_status st = nn_ckpt_verify(path, &err);
        if (!st)
            st = nn_ckpt_read_meta(path, &meta, &err);
        if (st) {
            nni_cli_report(world, &err);
            worst = worst ? worst : (int)st;
            continue;
        }
        printf("%s: ok (epoch %d%s, %d history rows)\n", path, meta.epoch,
               meta.step ? ", mid-epoch" : "", meta.n_history);
        nn_ckpt_meta_free(&meta);
    }
    return worst;
}
