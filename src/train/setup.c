/* Building a trainer from the config: data splits, model, loss, optimizer, schedule,
 * buffers, threads and the run directory. Everything the loop needs is allocated
 * here; the loop itself allocates nothing. */
#define _GNU_SOURCE /* sched_getaffinity: honour taskset / SLURM CPU binding */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/files.h"
#include "core/threads.h"
#include "model/model_internal.h"
#include "nn/rng.h"
#include "parallel/parallel_internal.h"
#include "train/train_internal.h"

static const char *const data_keys[] = {"path", "train", "val", "test", "train_rows",
                                        "test_rows", "sampling", NULL};
static const char *const sampling_names[] = {"global", "shard", NULL};
static const char *const val_keys[] = {"split", "rows", "name", NULL};
static const char *const early_keys[] = {"monitor", "mode", "patience", "min_delta",
                                         "restore_best", NULL};

/* [first, last) of a split, from a key such as `train_rows: [0, 1000]`. */
static nn_status read_range(const nn_cfg *map, const char *key, int64_t *first, int64_t *last,
                            nn_error *err)
{
    *first = 0;
    *last = -1;
    const nn_cfg *node = nn_cfg_get(map, key);
    if (!node)
        return NN_OK;
    int64_t values[2];
    int count = 2;
    nn_status st = nn_cfg_read_ints(map, key, values, &count, err);
    if (st)
        return st;
    if (count != 2 || values[0] < 0 || values[1] <= values[0])
        return nn_cfg_fail(err, node, "expected [first, last) row numbers with first < last");
    *first = values[0];
    *last = values[1];
    return NN_OK;
}

static nn_status load_split(const char *path, const char *split, int64_t first, int64_t last,
                            nn_dataset *ds, nn_error *err)
{
    if (last < 0)
        return nn_dataset_load(path, split, ds, err);
    return nn_dataset_load_rows(path, split, first, last - first, ds, err);
}

static int64_t *all_rows(int64_t n)
{
    int64_t *rows = malloc((size_t)(n ? n : 1) * sizeof *rows);
    for (int64_t i = 0; rows && i < n; i++)
        rows[i] = i;
    return rows;
}

static nn_status setup_data(nn_trainer *t, const nn_cfg *data, nn_error *err)
{
    if (!data)
        return nn_fail(err, NN_ERR_CONFIG, "config: missing 'data' section");
    nn_status st = nn_cfg_check_keys(data, data_keys, err);
    const char *path = NULL, *train_split = NULL;
    int64_t first, last;
    if (st || (st = nn_cfg_read_string(data, "path", NULL, &path, err)) ||
        (st = nn_cfg_read_string(data, "train", "train", &train_split, err)) ||
        (st = read_range(data, "train_rows", &first, &last, err)))
        return st;
    if (!path)
        return nn_cfg_fail(err, data, "missing key 'path' (the HDF5 dataset file)");
    int sampling = 0;
    if ((st = nn_cfg_read_choice(data, "sampling", sampling_names, "global", &sampling, err)))
        return st;
    t->sampling = sampling == 1 ? NN_SAMPLING_SHARD : NN_SAMPLING_GLOBAL;
    if (t->sampling == NN_SAMPLING_SHARD) {
        /* Each rank reads only its contiguous part of the training rows. */
        if (last < 0 && (st = nn_dataset_count_rows(path, train_split, &last, err)))
            return st;
        int64_t shard_first, shard_count;
        nn_comm_share(t->comm, last - first, &shard_first, &shard_count);
        if (shard_count == 0)
            return nn_fail(err, NN_ERR_DATA, "%s: /%s: %lld rows cannot be sharded over %d "
                           "ranks", path, train_split, (long long)(last - first),
                           t->comm->size);
        first += shard_first;
        last = first + shard_count;
    }
    if ((st = load_split(path, train_split, first, last, &t->train, err)))
        return st;

    /* Validation: {split: 0.1} carved from train, {rows: [a, b]} rows of the train split,
     * or the name of a split in the file. */
    const nn_cfg *val = nn_cfg_get(data, "val");
    const char *val_name = val ? nn_cfg_scalar(val) : NULL;
    if (val && !val_name) {
        if ((st = nn_cfg_check_keys(val, val_keys, err)))
            return st;
        double fraction = 0;
        if ((st = nn_cfg_read_double(val, "split", 0, &fraction, err)) ||
            (st = read_range(val, "rows", &first, &last, err)) ||
            (st = nn_cfg_read_string(val, "name", NULL, &val_name, err)))
            return st;
        if (fraction > 0) {
            if (fraction >= 1)
                return nn_cfg_fail(err, nn_cfg_get(val, "split"), "must be in (0, 1)");
            if ((st = nn_split_stratified(&t->train, fraction, t->seed, &t->train_rows,
                                          &t->n_train, &t->val_rows, &t->n_val, err)))
                return st;
            t->has_val = t->val_from_train = 1;
        } else if (last > 0) {
            if ((st = load_split(path, train_split, first, last, &t->val, err)))
                return st;
            t->has_val = 1;
        } else if (!val_name) {
            return nn_cfg_fail(err, val, "expected {split: fraction}, {rows: [first, last]} or "
                                         "a split name");
        }
    }
    if (val_name && strcmp(val_name, "none") != 0) {
        if ((st = nn_dataset_load(path, val_name, &t->val, err)))
            return st;
        t->has_val = 1;
    }
    if (t->has_val && !t->val_from_train) {
        t->n_val = t->val.n;
        t->val_rows = all_rows(t->n_val);
    }
    if (!t->train_rows) {
        t->n_train = t->train.n;
        t->train_rows = all_rows(t->n_train);
    }

    const char *test_split = nn_dataset_has_split(path, "test") ? "test" : "none";
    if ((st = nn_cfg_read_string(data, "test", test_split, &test_split, err)) ||
        (st = read_range(data, "test_rows", &first, &last, err)))
        return st;
    if (strcmp(test_split, "none") != 0) {
        if ((st = load_split(path, test_split, first, last, &t->test, err)))
            return st;
        t->has_test = 1;
    }
    if (!t->train_rows || (t->has_val && !t->val_rows))
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    if (t->n_train == 0)
        return nn_fail(err, NN_ERR_DATA, "%s: /%s: no training rows left", path, train_split);
    /* Every split must look like the training data. */
    const nn_dataset *others[2] = {t->has_val && !t->val_from_train ? &t->val : NULL,
                                   t->has_test ? &t->test : NULL};
    for (int i = 0; i < 2; i++)
        if (others[i] && (others[i]->sample_size != t->train.sample_size ||
                          others[i]->target_kind != t->train.target_kind ||
                          others[i]->target_width != t->train.target_width))
            return nn_fail(err, NN_ERR_DATA, "%s: /%s: samples or targets have a different "
                           "shape than /%s", path, others[i]->split, train_split);
    return NN_OK;
}

static nn_status setup_early_stopping(nn_trainer *t, const nn_cfg *node, nn_error *err)
{
    early_stopping *e = &t->early;
    if (!node)
        return NN_OK;
    nn_status st = nn_cfg_check_keys(node, early_keys, err);
    const char *monitor = "val_loss";
    int64_t patience = 5;
    int mode = -1;
    static const char *const modes[] = {"min", "max", NULL};
    if (st || (st = nn_cfg_read_string(node, "monitor", "val_loss", &monitor, err)) ||
        (st = nn_cfg_read_choice(node, "mode", modes, NULL, &mode, err)) ||
        (st = nn_cfg_read_int(node, "patience", 5, &patience, err)) ||
        (st = nn_cfg_read_double(node, "min_delta", 0, &e->min_delta, err)) ||
        (st = nn_cfg_read_bool(node, "restore_best", 0, &e->restore_best, err)))
        return st;
    static const char *const metrics[] = {"loss", "accuracy", "val_loss", "val_accuracy", NULL};
    int known = 0;
    for (int i = 0; metrics[i]; i++)
        known |= strcmp(metrics[i], monitor) == 0;
    if (!known)
        return nn_cfg_fail_unknown(err, nn_cfg_get(node, "monitor"), "metric", monitor, metrics);
    if (strncmp(monitor, "val_", 4) == 0 && !t->has_val)
        return nn_cfg_fail(err, nn_cfg_get(node, "monitor") ? nn_cfg_get(node, "monitor") : node,
                           "monitoring '%s'%s needs a validation split (data.val)", monitor,
                           nn_cfg_get(node, "monitor") ? "" : " (the default monitor)");
    if (patience < 0)
        return nn_cfg_fail(err, nn_cfg_get(node, "patience"), "must be >= 0 (epochs)");
    if (!(e->min_delta >= 0))
        return nn_cfg_fail(err, nn_cfg_get(node, "min_delta"), "must be >= 0");
    e->enabled = 1;
    snprintf(e->monitor, sizeof e->monitor, "%s", monitor);
    e->maximize = mode >= 0 ? mode == 1 : strstr(monitor, "loss") == NULL;
    e->patience = (int)patience;
    e->best = e->maximize ? -INFINITY : INFINITY;
    if (e->restore_best) {
        e->best_params = nn_alloc_floats(t->model->n_param_floats + 1);
        e->best_state = nn_alloc_floats(t->model->n_state_floats + 1);
        if (!e->best_params || !e->best_state)
            return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    return NN_OK;
}

/* "vm: ranks 0-3" per node, for the start-up banner (rank 0's copy is the full one). */
static void describe_layout(const nn_trainer *t, char *out, size_t size)
{
    enum { NAME = 64 };
    char mine[NAME] = {0};
    int len = 0;
    MPI_Get_processor_name(mine, &len);
    mine[NAME - 1] = '\0';
    int n = t->comm->size;
    char *all = t->comm->rank == 0 ? calloc((size_t)n, NAME) : NULL;
    MPI_Gather(mine, NAME, MPI_CHAR, all, NAME, MPI_CHAR, 0, nn_comm_mpi(t->comm));
    out[0] = '\0';
    if (!all)
        return;
    size_t used = 0;
    for (int r = 0; r < n && used < size; r++) {
        if (r > 0 && strcmp(all + r * NAME, all + (r - 1) * NAME) == 0)
            continue;
        int last = r;
        while (last + 1 < n && strcmp(all + (last + 1) * NAME, all + r * NAME) == 0)
            last++;
        used += (size_t)snprintf(out + used, size - used, "%s%s: rank%s %d%s%.0d", used ? ", " : "",
                                 all + r * NAME, last > r ? "s" : "", r, last > r ? "-" : "",
                                 last > r ? last : 0);
    }
    free(all);
}

/* Threads per rank: the CPUs this process may run on, divided among the ranks that
 * share the node, so ranks x threads never oversubscribes the cores. */
static int choose_threads(const nn_trainer *t, int64_t requested)
{
    if (requested > 0)
        return (int)requested;
    cpu_set_t set;
    int cpus = 1;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        cpus = CPU_COUNT(&set);
    MPI_Comm node;
    int ranks_on_node = 1;
    if (MPI_Comm_split_type(nn_comm_mpi(t->comm), MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) ==
        MPI_SUCCESS) {
        MPI_Comm_size(node, &ranks_on_node);
        MPI_Comm_free(&node);
    }
    int threads = cpus / ranks_on_node;
    return threads >= 1 ? threads : 1;
}

/* Rank 0 picks the run directory: --resume DIR, or <runs_dir>/<name> when train.resume is
 * auto and it holds last.h5, or a new <runs_dir>/<name>[-k] (an earlier run is never
 * written into). Returns 1 in *resume when the run continues from a checkpoint. */
static nn_status choose_run_dir(nn_trainer *t, int *resume, nn_error *err)
{
    const char *runs_dir = "runs", *name = NULL, *resume_mode = "never";
    static const char *const resume_modes[] = {"never", "auto", NULL};
    int auto_resume = 0;
    const nn_cfg *train_cfg = nn_cfg_get(t->cfg, "train");
    nn_status st;
    if ((st = nn_cfg_read_string(t->cfg, "runs_dir", "runs", &runs_dir, err)) ||
        (st = nn_cfg_read_string(t->cfg, "name", NULL, &name, err)) ||
        (st = nn_cfg_read_choice(train_cfg, "resume", resume_modes, resume_mode, &auto_resume,
                                 err)))
        return st;
    char stem[128] = "run";
    if (!name && t->opts.config_name) {
        const char *base = strrchr(t->opts.config_name, '/');
        base = base ? base + 1 : t->opts.config_name;
        snprintf(stem, sizeof stem, "%s", base);
        char *dot = strrchr(stem, '.');
        if (dot && dot != stem)
            *dot = '\0';
    }
    if (!name)
        name = stem;
    *resume = 0;
    if (t->opts.resume_dir) {
        snprintf(t->run_dir, sizeof t->run_dir, "%s", t->opts.resume_dir);
        struct stat info;
        if (stat(t->run_dir, &info) != 0 || !S_ISDIR(info.st_mode))
            return nn_fail(err, NN_ERR_CONFIG, "--resume %s: no such run directory", t->run_dir);
        *resume = 1;
        return NN_OK;
    }
    if (t->opts.run_dir) {
        snprintf(t->run_dir, sizeof t->run_dir, "%s", t->opts.run_dir);
        if (nn_make_dirs(t->run_dir) != 0)
            return nn_fail(err, NN_ERR_OTHER, "%s: cannot create run directory: %s",
                           t->run_dir, strerror(errno));
    } else {
        if (nn_make_dirs(runs_dir) != 0)
            return nn_fail(err, NN_ERR_OTHER, "%s: cannot create directory: %s", runs_dir,
                           strerror(errno));
        snprintf(t->run_dir, sizeof t->run_dir, "%s/%s", runs_dir, name);
        if (auto_resume) {
            char last[600];
            snprintf(last, sizeof last, "%s/last.h5", t->run_dir);
            if (access(last, F_OK) == 0) {
                *resume = 1;
                return NN_OK;
            }
        }
        for (int k = 1;; k++) {
            if (k > 1)
                snprintf(t->run_dir, sizeof t->run_dir, "%s/%s-%d", runs_dir, name, k);
            if (mkdir(t->run_dir, 0777) == 0)
                break;
            if (errno != EEXIST)
                return nn_fail(err, NN_ERR_OTHER, "%s: cannot create run directory: %s",
                               t->run_dir, strerror(errno));
            if (auto_resume && k == 1)
                break; /* requeued before the first checkpoint: start over in place */
        }
    }
    return NN_OK;
}

static nn_status prepare_run_dir(nn_trainer *t, nn_error *err)
{
    /* Rank 0 decides; every rank learns the directory and whether to resume. */
    struct {
        int status, resume;
        char dir[512];
        char msg[512];
    } decision = {0};
    if (t->is_root) {
        decision.status = choose_run_dir(t, &decision.resume, err);
        snprintf(decision.dir, sizeof decision.dir, "%s", t->run_dir);
        if (decision.status)
            snprintf(decision.msg, sizeof decision.msg, "%.500s", err->msg);
    }
    nn_comm_broadcast(t->comm, &decision, sizeof decision, 0);
    if (decision.status)
        return t->is_root ? (nn_status)decision.status
                          : nn_fail(err, (nn_status)decision.status, "%s", decision.msg);
    snprintf(t->run_dir, sizeof t->run_dir, "%s", decision.dir);
    char path[600];
    nn_status st;
    if (decision.resume && (st = nn_trainer_resume(t, err)))
        return st;
    if (!t->is_root)
        return NN_OK;
    /* Files are touched only once resuming has succeeded: a refused resume changes nothing. */
    snprintf(path, sizeof path, "%s/log.txt", t->run_dir);
    t->log_file = fopen(path, decision.resume ? "a" : "w");
    if (!t->log_file)
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot create: %s", path, strerror(errno));
    if (t->resume_note[0])
        nn_trainer_say(t, "%s\n", t->resume_note);
    snprintf(path, sizeof path, "%s/config.yaml", t->run_dir);
    if ((st = nn_write_file_atomic(path, t->config_yaml, strlen(t->config_yaml), err)))
        return st;
    snprintf(path, sizeof path, "%s/metrics.csv", t->run_dir);
    t->metrics_csv = fopen(path, decision.resume ? "a" : "w");
    if (!t->metrics_csv)
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot create run files: %s", t->run_dir,
                       strerror(errno));
    if (!decision.resume)
        nn_history_write_csv_header(t->metrics_csv);
    fflush(t->metrics_csv);
    return NN_OK;
}

/* Ranks of one node update one shared copy of the parameters, each its own range, instead
 * of each repeating the whole update (see nn_grad_sync_share_update). */
static nn_status share_optimizer_update(nn_trainer *t, nn_error *err)
{
    const int slots = nn_optim_slot_count(t->opt);
    float *values[NN_MAX_OPTIM_SLOTS];
    for (int k = 0; k < slots; k++)
        values[k] = nn_optim_slot(t->opt, k);
    nn_status st = nn_grad_sync_share_update(t->sync, slots, values,
                                             nn_optim_whole_tensors(t->opt), err);
    if (st || slots == 0 || !nn_grad_sync_update_slot(t->sync, 0))
        return st; /* nothing to place: no slots, or the update is not shared */
    for (int k = 0; k < slots; k++)
        values[k] = nn_grad_sync_update_slot(t->sync, k);
    nn_optim_use_slots(t->opt, values);
    return NN_OK;
}

nn_status nn_trainer_setup(nn_trainer *t, const nn_cfg *cfg, const nn_comm *comm,
                           const nn_train_options *opts, nn_error *err)
{
    memset(t, 0, sizeof *t);
    t->cfg = cfg;
    t->comm = comm;
    if (opts)
        t->opts = *opts;
    t->is_root = comm->rank == 0;
    t->out = t->opts.log ? t->opts.log : stdout;
    t->lr_scale = 1;
    const nn_cfg *train_cfg = nn_cfg_get(cfg, "train");
    int64_t seed = 42, epochs = 10, batch = 32, threads = 0, reference = 256;
    static const char *const scalings[] = {"none", "linear", NULL};
    int scaling = 0;
    nn_status st;
    if ((st = nn_cfg_read_int(cfg, "seed", 42, &seed, err)) ||
        (st = nn_cfg_read_int(train_cfg, "epochs", 10, &epochs, err)) ||
        (st = nn_cfg_read_int(train_cfg, "batch_size", 32, &batch, err)) ||
        (st = nn_cfg_read_int(train_cfg, "threads", 0, &threads, err)) ||
        (st = nn_cfg_read_choice(train_cfg, "lr_scaling", scalings, "none", &scaling, err)) ||
        (st = nn_cfg_read_int(train_cfg, "lr_reference_batch", 256, &reference, err)))
        return st;
    if (epochs < 1)
        return nn_cfg_fail(err, nn_cfg_get(train_cfg, "epochs"), "must be >= 1");
    if (batch < 1)
        return nn_cfg_fail(err, nn_cfg_get(train_cfg, "batch_size"), "must be >= 1");
    if (reference < 1)
        return nn_cfg_fail(err, nn_cfg_get(train_cfg, "lr_reference_batch"), "must be >= 1");
    if ((st = nn_cfg_read_int(train_cfg, "accumulate", 1, &t->accumulate, err)) ||
        (st = nn_cfg_read_bool(train_cfg, "log_grad_norms", 0, &t->log_grad_norms, err)))
        return st;
    if (t->accumulate < 1)
        return nn_cfg_fail(err, nn_cfg_get(train_cfg, "accumulate"), "must be >= 1");
    t->seed = (uint64_t)seed;
    t->epochs = (int)epochs;
    t->global_batch = batch;
    t->capacity = (batch + comm->size - 1) / comm->size;
    t->lr_scale = scaling == 1 ? (double)batch / (double)reference : 1.0;
    t->threads = choose_threads(t, threads > 0 ? threads : t->opts.threads);
    nn_set_threads(t->threads);
    describe_layout(t, t->layout, sizeof t->layout);

    if ((st = setup_data(t, nn_cfg_get(cfg, "data"), err)))
        return st;
    if ((st = nn_model_build(nn_cfg_get(cfg, "model"), t->capacity, t->seed, 0, &t->model,
                              err)))
        return st;
    if (nn_model_input_size(t->model) != t->train.sample_size) {
        char shape[64];
        return nn_cfg_fail(err, nn_cfg_get(nn_cfg_get(cfg, "model"), "input"),
                           "model input %s has %lld values per sample but %s /%s has %lld",
                           nn_shape_format(t->model->input_shape, shape, sizeof shape),
                           (long long)nn_model_input_size(t->model), t->train.path,
                           t->train.split, (long long)t->train.sample_size);
    }
    int has_labels = t->train.target_kind == NN_TARGET_LABELS;
    if ((st = nn_loss_build(nn_cfg_get(train_cfg, "loss"), nn_model_output_size(t->model),
                            has_labels, t->train.target_width, t->train.num_classes, &t->loss,
                            err)) ||
        (st = nn_optim_build(nn_cfg_get(train_cfg, "optimizer"), t->model, &t->opt, err)))
        return st;
    t->classification = has_labels && nn_loss_is_classification(t->loss);
    int64_t batches = (t->n_train * (t->sampling == NN_SAMPLING_SHARD ? comm->size : 1) +
                       batch - 1) / batch;
    int64_t steps_per_epoch = (batches + t->accumulate - 1) / t->accumulate;
    if ((st = nn_sched_build(nn_cfg_get(train_cfg, "schedule"), nn_optim_base_lr(t->opt),
                             steps_per_epoch, t->epochs, &t->sched, err)) ||
        (st = setup_early_stopping(t, nn_cfg_get(train_cfg, "early_stopping"), err)) ||
        (st = nn_clip_parse(nn_cfg_get(train_cfg, "clip"), &t->clip, err)))
        return st;
    const char *monitor = nn_sched_monitor(t->sched, NULL);
    if (monitor && strncmp(monitor, "val_", 4) == 0 && !t->has_val)
        return nn_fail(err, NN_ERR_CONFIG, "train.schedule: reduce_on_plateau monitors '%s', "
                       "which needs a validation split (data.val)", monitor);

    int64_t n_total = t->n_train;
    if (t->sampling == NN_SAMPLING_SHARD) {
        double total = (double)t->n_train;
        nn_comm_sum_doubles(comm, &total, 1);
        n_total = (int64_t)total;
    }
    if ((st = nn_sampler_init(&t->sampler, t->sampling, t->train_rows, t->n_train, n_total,
                              t->global_batch, comm->rank, comm->size, t->seed, err)))
        return st;
    double bucket_mb = 0, watchdog = 300; /* bucket_mb 0: sized from the model */
    int overlap = 1;
    const nn_cfg *bucket_cfg = nn_cfg_get(train_cfg, "bucket_mb");
    const char *bucket_text = bucket_cfg ? nn_cfg_scalar(bucket_cfg) : NULL;
    const int sized = bucket_cfg && !(bucket_text && !strcmp(bucket_text, "auto"));
    if (sized && (st = nn_cfg_read_double(train_cfg, "bucket_mb", 0, &bucket_mb, err)))
        return st;
    static const char *const transports[] = {"auto", "mpi", NULL};
    int transport = NN_GRAD_TRANSPORT_AUTO;
    if ((st = nn_cfg_read_choice(train_cfg, "allreduce", transports, "auto", &transport, err)) ||
        (st = nn_cfg_read_bool(train_cfg, "overlap", 1, &overlap, err)) ||
        (st = nn_cfg_read_double(train_cfg, "watchdog_seconds", 300, &watchdog, err)))
        return st;
    if (sized && !(bucket_mb > 0 && bucket_mb <= 16))
        return nn_cfg_fail(err, bucket_cfg, "must be in (0, 16] (MiB) or auto");
    if (!(watchdog > 0))
        return nn_cfg_fail(err, nn_cfg_get(train_cfg, "watchdog_seconds"), "must be > 0");
    t->overlap = overlap;
    if ((st = nn_grad_sync_create(comm, t->model, (int64_t)(bucket_mb * (1 << 20)), overlap,
                                  (nn_grad_transport)transport, watchdog, &t->sync, err)))
        return st;
    if ((st = share_optimizer_update(t, err)))
        return st;
    /* Clipping and the gradient-norm log read every summed gradient on every rank. */
    if (!nn_clip_enabled(&t->clip) && !t->log_grad_norms &&
        (st = nn_grad_sync_sum_own_range_only(t->sync, err)))
        return st;
    /* Backward writes where the sums are made (the node's shared mapping, or its own). */
    nn_model_use_grads(t->model, nn_grad_sync_gradients(t->sync));
    t->batch_rows = malloc((size_t)t->capacity * sizeof *t->batch_rows);
    t->sample_ids = malloc((size_t)t->capacity * sizeof *t->sample_ids);
    if (!t->batch_rows || !t->sample_ids)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    if ((st = nn_target_buffer_alloc(&t->targets_buf, &t->train, t->capacity, err)))
        return st;
    /* Augmentation sees samples as the data file shapes them (images stay images even for a
     * model that takes them flat). */
    nn_shape sample_shape = t->train.sample_ndim == 3
                                ? nn_shape_3d(t->train.sample_shape[0], t->train.sample_shape[1],
                                              t->train.sample_shape[2])
                                : t->model->input_shape;
    if ((st = nn_augment_parse(nn_cfg_get(train_cfg, "augment"), sample_shape, &t->augment,
                               err)))
        return st;
    if ((st = nn_trainer_setup_checkpoints(t, err)))
        return st;
    return prepare_run_dir(t, err);
}

void nn_trainer_teardown(nn_trainer *t)
{
    if (t->opt)
        nn_optim_use_slots(t->opt, NULL);
    nn_dataset_free(&t->train);
    nn_dataset_free(&t->val);
    nn_dataset_free(&t->test);
    free(t->train_rows);
    free(t->val_rows);
    nn_sampler_free(&t->sampler);
    if (t->model)
        nn_model_use_grads(t->model, NULL);
    nn_grad_sync_free(t->sync);
    free(t->batch_rows);
    free(t->sample_ids);
    nn_target_buffer_free(&t->targets_buf);
    nn_augment_free(&t->augment);
    free(t->history);
    free(t->config_yaml);
    free(t->early.best_params);
    free(t->early.best_state);
    nn_model_free(t->model);
    nn_loss_free(t->loss);
    nn_optim_free(t->opt);
    nn_sched_free(t->sched);
    if (t->metrics_csv)
        fclose(t->metrics_csv);
    if (t->log_file)
        fclose(t->log_file);
    memset(t, 0, sizeof *t);
}

