/* Checkpoint write time and size: builds a model from a config (with Adam, so optimizer
 * slots are saved too), writes last.h5 as the trainer does (temporary file, fsync, rename)
 * several times, reads it back, and prints the median times and the file size.
 *
 *   bench_ckpt CONFIG.yaml DIR [REPEATS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "nn/ckpt.h"
#include "nn/config.h"
#include "nn/model.h"
#include "nn/optim.h"

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_ckpt CONFIG.yaml DIR [REPEATS]\n");
        return 2;
    }
    int repeats = argc > 3 ? atoi(argv[3]) : 5;
    nn_error err = {0};
    nn_cfg *cfg = NULL;
    nn_model *model = NULL;
    nn_optim *opt = NULL;
    nn_cfg *adam = NULL;
    if (nn_cfg_load_file(argv[1], &cfg, &err) ||
        nn_model_build(nn_cfg_get(cfg, "model"), 1, 1, 0, &model, &err) ||
        nn_cfg_parse_value("{type: adam, lr: 0.001}", "bench", &adam, &err) ||
        nn_optim_build(adam, model, &opt, &err)) {
        fprintf(stderr, "bench_ckpt: %s\n", err.msg);
        return 1;
    }
    char *yaml = nn_cfg_to_yaml(cfg);
    nn_ckpt_meta meta = {.epoch = 1, .world_size = 1, .config_yaml = yaml};
    char path[1024];
    snprintf(path, sizeof path, "%s/last.h5", argv[2]);
    double *writes = calloc((size_t)repeats, sizeof *writes);
    double *reads = calloc((size_t)repeats, sizeof *reads);
    for (int i = 0; i < repeats; i++) {
        double start = wall();
        if (nn_ckpt_write(path, model, opt, &meta, &err)) {
            fprintf(stderr, "bench_ckpt: %s\n", err.msg);
            return 1;
        }
        writes[i] = wall() - start;
        start = wall();
        if (nn_ckpt_load(path, model, opt, &err)) {
            fprintf(stderr, "bench_ckpt: %s\n", err.msg);
            return 1;
        }
        reads[i] = wall() - start;
    }
    qsort(writes, (size_t)repeats, sizeof *writes, compare);
    qsort(reads, (size_t)repeats, sizeof *reads, compare);
    struct stat st;
    stat(path, &st);
    printf("%s: %lld parameters, checkpoint %.1f MiB, write %.1f ms (median of %d, with fsync), "
           "load %.1f ms\n", argv[1], (long long)nn_model_count_params(model),
           (double)st.st_size / (1 << 20), 1e3 * writes[repeats / 2], repeats,
           1e3 * reads[repeats / 2]);
    free(writes);
    free(reads);
    free(yaml);
    nn_optim_free(opt);
    nn_model_free(model);
    nn_cfg_free(adam);
    nn_cfg_free(cfg);
    return 0;
}
