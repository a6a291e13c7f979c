/* nntrain report PATH... [-o FILE.html] [--no-eval] [--watch]: one self-contained HTML page
 * of a run, of several runs compared, or of a search (nn/report.h). --watch rewrites the
 * page whenever the run's or the search's table changes, and the page reloads itself, until
 * SIGINT or SIGTERM. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "nn/report.h"

static const nni_cli_flag report_flags[] = {
    {"output", 'o', "FILE.html", "where to write the page (default: PATH/report.html for one "
                                 "path, report.html for several); plots go to FILE-plots/"},
    {"no-eval", 0, NULL, "skip the confusion matrix (no forward pass over the test split)"},
    {"watch", 0, NULL, "rewrite the page after every epoch until interrupted; the page "
                       "reloads itself"},
    {NULL, 0, NULL, NULL},
};

const nni_cli_spec nni_report_spec = {
    "report", "PATH...", "an HTML page of a run, of runs compared, or of a search", 1, -1,
    report_flags};

/* What --watch waits on: the size and time of the tables the page is drawn from. */
static long long change_stamp(char **paths, int n)
{
    static const char *const tables[] = {"metrics.csv", "metrics-steps.csv", "trials.csv"};
    long long stamp = 0;
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < sizeof tables / sizeof tables[0]; k++) {
            char path[1100];
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", paths[i], tables[k]);
            if (stat(path, &st) == 0)
                stamp += (long long)st.st_size * 1000003LL + (long long)st.st_mtim.tv_sec * 1000 +
                         st.st_mtim.tv_nsec / 1000000;
        }
    return stamp;
}

int nni_cmd_report(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nni_cli_args args;
    if (nni_cli_parse(argc, argv, &nni_report_spec, &args, &err))
        return nni_cli_report(world, &err);
    if (args.help || world->rank != 0)
        return 0;
    char output[1100];
    if (nni_cli_value(&args, "output"))
        snprintf(output, sizeof output, "%s", nni_cli_value(&args, "output"));
    else if (args.n_operands == 1)
        snprintf(output, sizeof output, "%s/report.html", args.operands[0]);
    else
        snprintf(output, sizeof output, "report.html");
    int watch = nni_cli_count(&args, "watch") > 0;
    nn_report_options options = {.evaluate = nni_cli_count(&args, "no-eval") == 0,
                                 .refresh_seconds = watch ? 5 : 0};
    const volatile sig_atomic_t *stop = watch ? nni_cli_install_stop_signals() : NULL;
    long long seen = change_stamp(args.operands, args.n_operands);
    for (;;) {
        if (nn_report_write((const char *const *)args.operands, args.n_operands, output,
                            &options, &err))
            return nni_cli_report(world, &err);
        printf("wrote %s\n", output);
        fflush(stdout);
        if (!watch)
            return 0;
        long long now = seen;
        while (!*stop && (now = change_stamp(args.operands, args.n_operands)) == seen) {
            struct timespec pause = {1, 0};
            nanosleep(&pause, NULL);
        }
        if (*stop)
            return 0;
        seen = now;
    }
}
