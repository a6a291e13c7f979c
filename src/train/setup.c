/* Building a trainer from the config: the train settings, model, loss, optimizer,
 * schedule, the gradient sums over the group, buffers and threads, then the data splits
 * (data_splits.c), early stopping, clipping, checkpoints and the run directory (run_dir.c)
 * through their own files. Everything the loop needs is allocated here; the loop itself
 * allocates nothing. */
#define _GNU_SOURCE /* sched_getaffinity: honour taskset / SLURM CPU binding */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "core/dir_lock.h"
#include "core/gemm_backend.h"
#include "core/threads.h"
#include "core/rng.h"
#include "data/source.h"
#include "parallel/parallel_internal.h"
#include "train/train_internal.h"

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
    MPI_Gather(mine, NAME, MPI_CHAR, all, NAME, MPI_CHAR, 0, nni_comm_mpi(t->comm));
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
    if (MPI_Comm_split_type(nni_comm_mpi(t->comm), MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) ==
        MPI_SUCCESS) {
        MPI_Comm_size(node, &ranks_on_node);
        MPI_Comm_free(&node);
    }
    int threads = cpus / ranks_on_node;
    return threads >= 1 ? threads : 1;
}

/* Ranks of one node update one shared copy of the parameters, each its own range, instead
 * of each repeating the whole update (see nni_grad_sync_share_update). */
static nn_status share_optimizer_update(nn_trainer *t, nn_error *err)
{
    const int slots = nni_optim_slot_count(t->opt);
    float *values[NN_MAX_OPTIM_SLOTS];
    for (int k = 0; k < slots; k++)
        values[k] = nni_optim_slot(t->opt, k);
    nn_status st = nni_grad_sync_share_update(t->sync, slots, values,
                                              nni_optim_whole_tensors(t->opt),
                                              t->repro.shared != NULL, err);
    if (st || slots == 0 || !nni_grad_sync_update_slot(t->sync, 0))
        return st; /* nothing to place: no slots, or the update is not shared */
    for (int k = 0; k < slots; k++)
        values[k] = nni_grad_sync_update_slot(t->sync, k);
    nni_optim_use_slots(t->opt, values);
    return NN_OK;
}

nn_status nni_trainer_setup(nn_trainer *t, const nn_cfg *cfg, const nn_comm *comm,
                            const nn_train_options *opts, nn_error *err)
{
    memset(t, 0, sizeof *t);
    t->run_dir_lock = -1;
    t->metrics_fd = -1;
    t->log_fd = -1;
    t->step_log.fd = -1;
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
        (st = nn_cfg_read_bool(train_cfg, "log_grad_norms", 0, &t->log_grad_norms, err)) ||
        (st = nni_step_log_parse(train_cfg, &t->step_log, err)))
        return st;
    if (t->accumulate < 1)
        return nn_cfg_fail(err, nn_cfg_get(train_cfg, "accumulate"), "must be >= 1");
    t->seed = (uint64_t)seed;
    t->epochs = (int)epochs;
    t->global_batch = batch;
    t->capacity = (batch + comm->size - 1) / comm->size;
    t->lr_scale = scaling == 1 ? (double)batch / (double)reference : 1.0;
    if ((st = nni_repro_parse(t, train_cfg, err)))
        return st;
    t->threads = choose_threads(t, threads > 0 ? threads : t->opts.threads);
    nni_set_threads(t->threads);
    int gemm = NNI_GEMM_AUTO;
    if ((st = nn_cfg_read_choice(train_cfg, "gemm", nni_gemm_choices, "auto", &gemm, err)))
        return st;
    nni_gemm_backend_choose(gemm);
    /* Bitwise mode needs a sample's products to give the same bits whatever rows share its
     * call (each rank holds other rows); OpenBLAS's round by the product's size and cut. */
    if (t->repro.unit && !nni_gemm_backend_current()->cut_invariant)
        return nn_fail(err, NN_ERR_CONFIG, "train.reproducible: bitwise needs nntrain's "
                       "products (train.gemm: nntrain): OpenBLAS's results change with the "
                       "rows each rank holds, so they would differ between rank counts");
    describe_layout(t, t->layout, sizeof t->layout);

    if ((st = nni_trainer_setup_data(t, nn_cfg_get(cfg, "data"), err)))
        return st;
    if ((st = nn_model_build(nn_cfg_get(cfg, "model"), t->capacity, t->seed, 0, &t->model,
                              err)))
        return st;
    int winograd = 1;
    if ((st = nn_cfg_read_bool(train_cfg, "winograd", 1, &winograd, err)))
        return st;
    t->model->direct_conv = !winograd;
    if ((st = nni_precision_setup(t, train_cfg, err)))
        return st;
    if ((st = nni_dataset_check_input(&t->train, t->model->input_shape, &t->data_source,
                                      nn_cfg_get(nn_cfg_get(cfg, "model"), "input"), err)))
        return st;
    const nn_shape in = t->model->input_shape;
    if (in.ndim == 2 && (t->train.sample_ndim != 3 || t->train.sample_shape[0] != 1 ||
                         t->train.sample_shape[1] != in.dim[0]))
        return nn_fail(err, NN_ERR_DATA, "%s /%s: x must hold sequences of %lld steps of %lld "
                       "features (N x %lld x %lld) for the model input [%lld, %lld]",
                       t->train.path, t->train.split, (long long)in.dim[0], (long long)in.dim[1],
                       (long long)in.dim[0], (long long)in.dim[1], (long long)in.dim[0],
                       (long long)in.dim[1]);
    int has_labels = t->train.target_kind == NN_TARGET_LABELS;
    if ((st = nn_loss_build(nn_cfg_get(train_cfg, "loss"), nn_model_output_size(t->model),
                            has_labels, t->train.target_width, t->train.num_classes, &t->loss,
                            err)) ||
        (st = nn_optim_build(nn_cfg_get(train_cfg, "optimizer"), t->model, &t->opt, err)))
        return st;
    const nn_dataset *splits[3] = {&t->train, t->has_val && !t->val_from_train ? &t->val : NULL,
                                   t->has_test ? &t->test : NULL};
    for (int i = 0; i < 3; i++) {
        const nn_dataset *d = splits[i];
        char where[600];
        snprintf(where, sizeof where, "%s /%s/y", d ? d->path : "", d ? d->split : "");
        const int64_t output_steps = nn_model_output_steps(t->model);
        nn_targets targets = {.labels = d ? d->labels : NULL, .values = d ? d->targets : NULL,
                              .width = d ? d->target_width : 0,
                              .lengths = d ? d->y_lengths : NULL,
                              .steps = d && output_steps ? d->x_lengths : NULL,
                              .steps_total = output_steps};
        if (d && (st = nn_loss_check_targets(t->loss, &targets, d->n, where, err)))
            return st;
    }
    t->classification = has_labels && nn_loss_is_classification(t->loss);
    int64_t batches = (t->n_train * (t->sampling == NNI_SAMPLING_SHARD ? comm->size : 1) +
                       batch - 1) / batch;
    int64_t steps_per_epoch = (batches + t->accumulate - 1) / t->accumulate;
    if ((st = nn_sched_build(nn_cfg_get(train_cfg, "schedule"), nn_optim_base_lr(t->opt),
                             steps_per_epoch, t->epochs, &t->sched, err)) ||
        (st = nni_early_stopping_parse(nn_cfg_get(train_cfg, "early_stopping"), t->has_val,
                                       t->model, &t->early, err)) ||
        (st = nni_clip_parse(nn_cfg_get(train_cfg, "clip"), &t->clip, err)))
        return st;
    const char *monitor = nn_sched_monitor(t->sched, NULL);
    if (monitor && strncmp(monitor, "val_", 4) == 0 && !t->has_val)
        return nn_fail(err, NN_ERR_CONFIG, "train.schedule: the schedule monitors '%s', "
                       "which needs a validation split (data.val)", monitor);

    int64_t n_total = t->n_train;
    if (t->sampling == NNI_SAMPLING_SHARD) {
        double total = (double)t->n_train;
        nn_comm_sum_doubles(comm, &total, 1);
        n_total = (int64_t)total;
    }
    if ((st = nni_sampler_init(&t->sampler, t->sampling, t->train_rows, t->n_train, n_total,
                              t->global_batch, comm->rank, comm->size, t->seed, err)))
        return st;
    t->sampler.chunks = t->chunk_shuffle.enabled ? &t->chunk_shuffle : NULL;
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
    /* The exact sums have their own shared memory (or MPI_Allreduce) */
    t->repro.transport = transport;
    if (t->repro.unit)
        transport = NN_GRAD_TRANSPORT_MPI;
    if ((st = nni_grad_sync_create(comm, t->model, (int64_t)(bucket_mb * (1 << 20)), overlap,
                                   (nni_grad_transport)transport, watchdog, &t->sync, err)))
        return st;
    /* Bitwise mode's exact sums map the node's memory first: the update can share it. */
    if ((st = nni_repro_setup(t, err)) || (st = share_optimizer_update(t, err)))
        return st;
    /* Clipping and the gradient-norm logs read every summed gradient on every rank. */
    const int own_range_only = !nni_clip_enabled(&t->clip) && !t->log_grad_norms &&
                               !t->step_log.every;
    if (own_range_only && (st = nni_grad_sync_sum_own_range_only(t->sync, err)))
        return st;
    /* Backward writes where the sums are made (the node's shared mapping, or its own; the
     * units' slots in bitwise mode). */
    if (!t->repro.unit)
        nni_model_use_grads(t->model, nni_grad_sync_gradients(t->sync));
    else if (own_range_only)
        nni_grad_sync_update_begin(t->sync, &t->repro.own_first, &t->repro.own_end);
    t->batch_rows = malloc((size_t)t->capacity * sizeof *t->batch_rows);
    t->sample_ids = malloc((size_t)t->capacity * sizeof *t->sample_ids);
    if (!t->batch_rows || !t->sample_ids)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    if ((st = nni_target_buffer_alloc(&t->targets_buf, &t->train, t->capacity, err)))
        return st;
    t->targets_buf.output_steps = nn_model_output_steps(t->model);
    /* Augmentation sees samples as the data file shapes them (images stay images even for a
     * model that takes them flat). */
    nn_shape sample_shape = t->train.sample_ndim == 3
                                ? nn_shape_3d(t->train.sample_shape[0], t->train.sample_shape[1],
                                              t->train.sample_shape[2])
                                : t->model->input_shape;
    if ((st = nni_augment_parse(nn_cfg_get(train_cfg, "augment"), sample_shape, &t->augment,
                               err)))
        return st;
    if ((st = nni_trainer_setup_checkpoints(t, err)) ||
        (st = nni_trainer_prepare_run_dir(t, err)))
        return st;
    return nni_trainer_checkpoint_initial(t, err);
}

void nni_trainer_teardown(nn_trainer *t)
{
    if (t->opt)
        nni_optim_use_slots(t->opt, NULL);
    nn_dataset_free(&t->train);
    nn_dataset_free(&t->val);
    nn_dataset_free(&t->test);
    nni_stream_close(t->train_stream);
    nni_stream_close(t->val_stream);
    nni_stream_close(t->test_stream);
    free(t->ahead_rows);
    nni_node_cache_close(&t->node_cache);
    nni_file_list_free(&t->data_files);
    free(t->train_rows);
    free(t->val_rows);
    nni_sampler_free(&t->sampler);
    nni_chunk_shuffle_free(&t->chunk_shuffle);
    nni_repro_free(t);
    if (t->model)
        nni_model_use_grads(t->model, NULL);
    nni_grad_sync_free(t->sync);
    free(t->batch_rows);
    free(t->sample_ids);
    nni_target_buffer_free(&t->targets_buf);
    nni_augment_free(&t->augment);
    free(t->clean_labels);
    free(t->noisy_labels);
    free(t->history);
    free(t->config_yaml);
    nni_early_stopping_free(&t->early);
    nn_model_free(t->model);
    nn_loss_free(t->loss);
    nn_optim_free(t->opt);
    nn_sched_free(t->sched);
    if (t->metrics_fd >= 0)
        close(t->metrics_fd);
    t->metrics_fd = -1;
    nni_step_log_close(&t->step_log);
    if (t->log_fd >= 0)
        close(t->log_fd);
    nni_dir_unlock(&t->run_dir_lock);
    memset(t, 0, sizeof *t);
}

