/* nntrain version (also nntrain --version): the project version and the git commit the
 * program was built from. */
#include <stdio.h>

#include "cli/cli.h"
#include "nn/version.h"

static const nni_cli_flag version_flags[] = {
    {NULL, 0, NULL, NULL},
};

static const nni_cli_spec version_spec = {
    "version", NULL, "print nntrain's version and the git commit it was built from", 0, 0,
    version_flags};

int nni_cmd_version(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nni_cli_args args;
    if (nni_cli_parse(argc, argv, &version_spec, &args, &err))
        return nni_cli_report(world, &err);
    if (!args.help && world->rank == 0)
        printf("nntrain %s\n", nn_version_full());
    return 0;
}
