/* Reading /proc/self/status and /proc/self/smaps_rollup (see memory_usage.h). The
 * proportional set size is the figure that adds up over processes: pages shared by the
 * ranks of a node (the node's copy of the data) count once in the sum. */
#include "core/memory_usage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adds the "<key>: <n> kB" lines of a /proc file to the fields named in keys. */
static int read_kb_lines(const char *path, const char *const *keys, double *const *fields)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        for (int k = 0; keys[k]; k++) {
            size_t len = strlen(keys[k]);
            double kb = 0;
            if (strncmp(line, keys[k], len) == 0 && line[len] == ':' &&
                sscanf(line + len + 1, "%lf", &kb) == 1)
                *fields[k] = kb / 1024;
        }
    }
    fclose(f);
    return 1;
}

int nni_memory_usage_read(nni_memory_usage *usage)
{
    memset(usage, 0, sizeof *usage);
    static const char *const status_keys[] = {"VmRSS", "VmHWM", "RssShmem", NULL};
    double *status_fields[] = {&usage->resident_mib, &usage->peak_resident_mib,
                               &usage->shared_mib};
    static const char *const rollup_keys[] = {"Pss", NULL};
    double *rollup_fields[] = {&usage->proportional_mib};
    return read_kb_lines("/proc/self/status", status_keys, status_fields) &&
           read_kb_lines("/proc/self/smaps_rollup", rollup_keys, rollup_fields);
}

double nni_memory_available_mib(void)
{
    static const char *const keys[] = {"MemAvailable", NULL};
    double available = -1;
    double *fields[] = {&available};
    if (!read_kb_lines("/proc/meminfo", keys, fields))
        available = -1;
    const char *pretend = getenv("NN_TEST_MEMORY_AVAILABLE_MIB");
    const double lower = pretend ? strtod(pretend, NULL) : -1;
    return lower >= 0 && (available < 0 || lower < available) ? lower : available;
}
