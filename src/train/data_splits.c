/* The data splits of a run (`data:`): the training rows (all of a split, a row range, or
 * this rank's shard), the validation rows (carved from the training split, a row range of
 * it, or a split of their own) and the test split, each checked to look like the training
 * data. */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/memory_usage.h"
#include "data/corrupt.h"
#include "data/oversample.h"
#include "data/source.h"
#include "data/split.h"
#include "data/target_input.h"
#include "train/train_internal.h"

const char *const nni_data_keys[] = {"path", "train", "val", "test", "train_rows",
                                        "test_rows", "sampling", "x", "y", "layout",
                                        "label_noise", "shuffle_pixels", "target", "cache",
                                        "oversample", "shuffle", "shuffle_chunk_rows",
                                        "shuffle_window", NULL};
static const char *const sampling_names[] = {"global", "shard", NULL};
static const char *const pixel_shuffle_names[] = {"none", "fixed", "random", NULL};
/* In the order of the DATA_CACHE_ values, auto last. */
static const char *const cache_names[] = {"memory", "node", "none", "auto", NULL};
const char *const nni_data_val_keys[] = {"split", "rows", "name", NULL};

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

/* Rows [first, last) of a split of data.path's files (last < 0: all of them). */
static nn_status load_split(nn_trainer *t, const char *split, int64_t first, int64_t last,
                            nn_dataset *ds, nn_error *err)
{
    t->loading_split = split;
    t->loading_start = nni_clock_seconds();
    if (t->data_cache == DATA_CACHE_NODE)
        return nni_node_cache_load(&t->node_cache, &t->data_files, split, &t->data_source,
                                   last < 0 ? 0 : first, last < 0 ? -1 : last - first, ds, err);
    return nni_file_list_load(&t->data_files, split, &t->data_source, last < 0 ? 0 : first,
                              last < 0 ? -1 : last - first, ds, err);
}

/* data.cache: `auto` shares one copy per node when the node runs more than one rank of the
 * group and every rank samples from the whole split (global sampling); a shard is a rank's
 * own. */
/* 1 on every rank when the training rows' samples, held as `cache` says, would not fit in
 * the memory the node has left (every rank agrees: any rank's doubt counts). */
static int too_big(nn_trainer *t, int cache, double split_mib)
{
    const double available = nni_memory_available_mib();
    const int copies = cache == DATA_CACHE_NODE ? 1 : t->node_cache.node.size;
    int over = available >= 0 && split_mib * copies > available;
    nn_comm_max_int(t->comm, &over);
    return over;
}

static nn_status choose_cache(nn_trainer *t, const nn_cfg *data, const char *train_split,
                              int64_t first, int64_t last, nn_error *err)
{
    int cache = 0;
    nn_status st = nn_cfg_read_choice(data, "cache", cache_names, "auto", &cache, err);
    if (st || (st = nni_node_cache_open(t->comm, &t->node_cache, err)))
        return st;
    /* The training rows' size from the files' layout (nothing large is read). */
    nn_dataset probe;
    if ((st = nni_file_list_load(&t->data_files, train_split, &t->data_source, 0, 0, &probe, err)))
        return st;
    const int64_t rows = last < 0 ? probe.rows_in_file - first : last - first;
    const double split_mib = (double)rows * (double)probe.sample_size *
                             (probe.x_is_uint8 ? 1 : 4) / (1 << 20);
    nn_dataset_free(&probe);
    if (cache == DATA_CACHE_NODE && t->sampling == NNI_SAMPLING_SHARD)
        return nn_cfg_fail(err, nn_cfg_get(data, "cache"), "node shares whole splits between "
                           "the ranks of a node, but with sampling: shard each rank holds rows "
                           "of its own (use memory)");
    /* smote appends synthetic rows to the training split: a rank's own copy in memory */
    nni_oversample oversample;
    if ((st = nni_oversample_read(data, &oversample, err)))
        return st;
    const int smote = oversample.method == NNI_OVERSAMPLE_SMOTE;
    if (smote && (cache == DATA_CACHE_NODE || cache == DATA_CACHE_NONE))
        return nn_cfg_fail(err, nn_cfg_get(data, "cache"), "%s, but data.oversample smote "
                           "appends rows to the training split in memory (use memory)",
                           cache == DATA_CACHE_NODE ? "node shares one read-only copy"
                                                    : "none streams the samples");
    if (cache == 3) {
        /* Every rank chooses alike (loading a node copy is collective over the group): a
         * node with one rank of a group whose other nodes hold several shares it too. */
        int most_on_a_node = t->node_cache.node.size;
        nn_comm_max_int(t->comm, &most_on_a_node);
        cache = t->sampling == NNI_SAMPLING_GLOBAL && most_on_a_node > 1 && !smote
                    ? DATA_CACHE_NODE : DATA_CACHE_MEMORY;
        const int copies = cache == DATA_CACHE_NODE ? 1 : t->node_cache.node.size;
        if (!smote && too_big(t, cache, split_mib)) {
            nni_trainer_say(t, "data: cache auto: /%s's samples need %.1f MiB x %d cop%s but "
                            "the node has %.1f MiB of memory left: streamed instead\n",
                            train_split, split_mib, copies, copies > 1 ? "ies" : "y",
                            nni_memory_available_mib());
            cache = DATA_CACHE_NONE;
        }
    } else if (cache != DATA_CACHE_NONE && too_big(t, cache, split_mib)) {
        const int copies = cache == DATA_CACHE_NODE ? 1 : t->node_cache.node.size;
        return nn_cfg_fail(err, nn_cfg_get(data, "cache"), "%s: /%s's samples need %.1f MiB "
                           "x %d cop%s = %.1f MiB but the node has %.1f MiB of memory left; use "
                           "data.cache: none (streaming) or auto", cache_names[cache],
                           train_split, split_mib, copies, copies > 1 ? "ies" : "y",
                           split_mib * copies, nni_memory_available_mib());
    }
    t->data_cache = cache;
    /* Streaming: the samples stay in the files (the stream rearranges channels-last rows and
     * shuffles pixels as each row arrives). */
    t->data_source.targets_only = cache == DATA_CACHE_NONE;
    return NN_OK;
}

/* data.cache: none: the samples of each split are read batch by batch from the files, with
 * data.shuffle_pixels applied as they arrive. */
static nn_status open_stream(nn_trainer *t, const nn_dataset *ds, int pixels,
                             nni_stream **out, nn_error *err)
{
    nn_status st = nni_stream_open(&t->data_files, ds->split, &t->data_source, ds, t->capacity,
                                   out, err);
    return st ? st : nni_stream_shuffle_pixels(*out, pixels, t->seed, err);
}

static nn_status open_streams(nn_trainer *t, const nn_cfg *data, nn_error *err)
{
    int pixels = 0;
    nn_status st = nni_data_read_pixel_shuffle(data, &pixels, err);
    if (!st)
        st = open_stream(t, &t->train, pixels, &t->train_stream, err);
    if (!st && t->has_val && !t->val_from_train)
        st = open_stream(t, &t->val, pixels, &t->val_stream, err);
    if (!st && t->has_test)
        st = open_stream(t, &t->test, pixels, &t->test_stream, err);
    if (!st && !(t->ahead_rows = malloc((size_t)t->capacity * sizeof *t->ahead_rows)))
        st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    return st;
}

nn_status nni_data_read_pixel_shuffle(const nn_cfg *data, int *mode, nn_error *err)
{
    return nn_cfg_read_choice(data, "shuffle_pixels", pixel_shuffle_names, "none", mode, err);
}

/* `label_noise: p` or `label_noise: {p: P, epochs: [a, b]}`: the fraction and its window. */
static nn_status read_label_noise(const nn_cfg *data, double *p, nni_epoch_window *window,
                                  nn_error *err)
{
    static const char *const keys[] = {"p", "epochs", NULL};
    const nn_cfg *node = nn_cfg_get(data, "label_noise");
    *window = nni_epoch_window_always();
    nn_status st;
    if (node && nn_cfg_kind_of(node) == NN_CFG_MAP) {
        if ((st = nn_cfg_check_keys(node, keys, err)) ||
            (st = nni_epoch_window_read(node, "epochs", *window, window, err)) ||
            (st = nn_cfg_read_double(node, "p", 0, p, err)))
            return st;
        node = nn_cfg_get(node, "p");
    } else if ((st = nn_cfg_read_double(data, "label_noise", 0, p, err))) {
        return st;
    }
    if (*p < 0 || *p > 1)
        return nn_cfg_fail(err, node, "must be in [0, 1] (the fraction of training labels "
                           "drawn at random)");
    return NN_OK;
}

static int32_t *copy_labels(const nn_dataset *ds)
{
    int32_t *copy = malloc((size_t)(ds->n ? ds->n : 1) * sizeof *copy);
    if (copy)
        memcpy(copy, ds->labels, (size_t)ds->n * sizeof *copy);
    return copy;
}

/* data.label_noise and data.shuffle_pixels, once the rows of every split are known: only
 * the training rows get noisy labels; every split gets the pixel shuffle, so that a model
 * trained on shuffled pixels is evaluated on the same kind of input. Noise with an epoch
 * window keeps both sets of labels, and nni_trainer_label_noise_epoch puts the right one in
 * place as each epoch begins. */
static nn_status corrupt_splits(nn_trainer *t, const nn_cfg *data, nn_error *err)
{
    double noise = 0;
    int shuffle = 0;
    nni_epoch_window window;
    nn_status st = read_label_noise(data, &noise, &window, err);
    if (!st)
        st = nni_data_read_pixel_shuffle(data, &shuffle, err);
    int64_t redrawn = 0;
    const int windowed = window.first > 0 || window.end != INT64_MAX;
    if (!st && noise > 0 && windowed) {
        /* Labels that change with the epoch are this rank's own (a node's shared copy is
         * read-only and never changes): the clean ones, and the working copy the noise
         * goes into. */
        t->clean_labels = copy_labels(&t->train);
        int32_t *own = copy_labels(&t->train);
        if (!t->clean_labels || !own) {
            free(own);
            st = nn_fail(err, NN_ERR_OTHER, "out of memory");
        } else {
            t->train.labels = own;
        }
    }
    /* Otherwise a node's shared copy is changed once, by its first rank
     * (nni_node_cache_seal waits). */
    const int follower = t->data_cache == DATA_CACHE_NODE &&
                         !nni_node_cache_leader(&t->node_cache);
    if (follower && !windowed)
        return st;
    if (!st && noise > 0)
        st = nni_label_noise(&t->train, t->train_rows, t->n_train, noise, t->seed, &redrawn,
                             err);
    if (!st && t->clean_labels) {
        t->noisy_labels = copy_labels(&t->train);
        t->labels_noisy = 1;
        t->label_noise_epochs = window;
        if (!t->noisy_labels)
            st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    nn_dataset *splits[3] = {&t->train, t->has_val && !t->val_from_train ? &t->val : NULL,
                             t->has_test ? &t->test : NULL};
    for (int i = 0; i < 3 && !st && t->data_cache != DATA_CACHE_NONE; i++) /* else streamed */
        if (splits[i])
            st = nni_shuffle_pixels(splits[i], (nni_pixel_shuffle)shuffle, t->seed, err);
    return st;
}

void nni_trainer_label_noise_epoch(nn_trainer *t)
{
    if (!t->clean_labels)
        return;
    const int noisy = nni_epoch_window_contains(t->label_noise_epochs, t->epoch);
    if (noisy == t->labels_noisy)
        return;
    memcpy(t->train.labels, noisy ? t->noisy_labels : t->clean_labels,
           (size_t)t->train.n * sizeof *t->train.labels);
    t->labels_noisy = noisy;
}

static int64_t *all_rows(int64_t n)
{
    int64_t *rows = malloc((size_t)(n ? n : 1) * sizeof *rows);
    for (int64_t i = 0; rows && i < n; i++)
        rows[i] = i;
    return rows;
}

nn_status nni_trainer_setup_data(nn_trainer *t, const nn_cfg *data, nn_error *err)
{
    if (!data)
        return nn_fail(err, NN_ERR_CONFIG, "config: missing 'data' section");
    nn_status st = nn_cfg_check_keys(data, nni_data_keys, err);
    const char *train_split = NULL;
    int64_t first, last;
    if (st || (st = nni_file_list_read(data, "path", &t->data_files, err)) ||
        (st = nn_cfg_read_string(data, "train", "train", &train_split, err)) ||
        (st = read_range(data, "train_rows", &first, &last, err)))
        return st;
    const char *path = t->data_files.name; /* for messages */
    if ((st = nni_dataset_source_read(data, &t->data_source, err)))
        return st;
    int sampling = 0;
    if ((st = nn_cfg_read_choice(data, "sampling", sampling_names, "global", &sampling, err)))
        return st;
    t->sampling = sampling == 1 ? NNI_SAMPLING_SHARD : NNI_SAMPLING_GLOBAL;
    if ((st = choose_cache(t, data, train_split, first, last, err)))
        return st;
    /* A progress line on the terminal while the samples load (rank 0's own reads). */
    if (t->is_root && !t->opts.quiet && t->data_cache != DATA_CACHE_NONE &&
        (t->opts.progress < 0 ? nni_is_terminal(t->out) : t->opts.progress)) {
        t->data_source.progress = nni_trainer_load_progress;
        t->data_source.progress_ctx = t;
    }
    if (t->sampling == NNI_SAMPLING_SHARD) {
        /* Each rank reads only its contiguous part of the training rows. */
        if (last < 0) { /* one row read tells the split's size */
            nn_dataset probe;
            if ((st = load_split(t, train_split, 0, 1, &probe, err)))
                return st;
            last = probe.rows_in_file;
            nn_dataset_free(&probe);
        }
        int64_t shard_first, shard_count;
        nn_comm_share(t->comm, last - first, &shard_first, &shard_count);
        if (shard_count == 0)
            return nn_fail(err, NN_ERR_DATA, "%s: /%s: %lld rows cannot be sharded over %d "
                           "ranks", path, train_split, (long long)(last - first),
                           t->comm->size);
        first += shard_first;
        last = first + shard_count;
    }
    if ((st = load_split(t, train_split, first, last, &t->train, err)))
        return st;

    /* Validation: {split: 0.1} carved from train, {rows: [a, b]} rows of the train split,
     * or the name of a split in the file. */
    const nn_cfg *val = nn_cfg_get(data, "val");
    const char *val_name = val ? nn_cfg_scalar(val) : NULL;
    if (val && !val_name) {
        if ((st = nn_cfg_check_keys(val, nni_data_val_keys, err)))
            return st;
        double fraction = 0;
        if ((st = nn_cfg_read_double(val, "split", 0, &fraction, err)) ||
            (st = read_range(val, "rows", &first, &last, err)) ||
            (st = nn_cfg_read_string(val, "name", NULL, &val_name, err)))
            return st;
        if (fraction > 0) {
            if (fraction >= 1)
                return nn_cfg_fail(err, nn_cfg_get(val, "split"), "must be in (0, 1)");
            if ((st = nni_split_stratified(&t->train, fraction, t->seed, &t->train_rows,
                                          &t->n_train, &t->val_rows, &t->n_val, err)))
                return st;
            t->has_val = t->val_from_train = 1;
        } else if (last > 0) {
            if ((st = load_split(t, train_split, first, last, &t->val, err)))
                return st;
            t->has_val = 1;
        } else if (!val_name) {
            return nn_cfg_fail(err, val, "expected {split: fraction}, {rows: [first, last]} or "
                                         "a split name");
        }
    }
    if (val_name && strcmp(val_name, "none") != 0) {
        if ((st = load_split(t, val_name, 0, -1, &t->val, err)))
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

    const char *test_split = nni_file_list_has_split(&t->data_files, "test") ? "test" : "none";
    if ((st = nn_cfg_read_string(data, "test", test_split, &test_split, err)) ||
        (st = read_range(data, "test_rows", &first, &last, err)))
        return st;
    if (strcmp(test_split, "none") != 0) {
        if ((st = load_split(t, test_split, first, last, &t->test, err)))
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
    st = corrupt_splits(t, data, err);
    if (t->data_cache == DATA_CACHE_NODE) { /* only the leader changed the shared copy */
        int failed = (int)st;
        nn_comm_max_int(t->comm, &failed);
        if (failed && !st)
            st = nn_fail(err, (nn_status)failed, "%s: /%s: the first rank of a node could not "
                         "prepare the shared copy (its message says why)", path, train_split);
    }
    if (st)
        return st;
    /* Targets from the inputs: after the stratified validation split and the label noise,
     * which read labels, and after the pixel shuffle, so that the target is what the model
     * sees. */
    int from_input = 0;
    if ((st = nni_data_read_target(data, &from_input, err)))
        return st;
    nn_dataset *splits[3] = {&t->train, t->has_val && !t->val_from_train ? &t->val : NULL,
                             t->has_test ? &t->test : NULL};
    if (t->data_cache == DATA_CACHE_NODE)
        nni_node_cache_seal(&t->node_cache, splits, 3);
    /* More rows for the rare classes: from the training rows alone, after the validation
     * rows were set aside, identically on every rank (each holds the whole split; a node's
     * shared copy is complete once sealed, and smote has a copy of its own). */
    nni_oversample oversample;
    if ((st = nni_oversample_read(data, &oversample, err)))
        return st;
    if (oversample.method != NNI_OVERSAMPLE_NONE && t->sampling == NNI_SAMPLING_SHARD)
        return nn_cfg_fail(err, nn_cfg_get(data, "oversample"), "needs sampling: global (with "
                           "shards, each rank would oversample its own rows)");
    if (oversample.method != NNI_OVERSAMPLE_NONE && t->clean_labels)
        return nn_cfg_fail(err, nn_cfg_get(data, "oversample"), "cannot be combined with "
                           "label noise over an epoch window (whose labels are restored each "
                           "epoch from a copy made before the rows were added)");
    if ((st = nni_oversample_apply(&oversample, &t->train, &t->train_rows, &t->n_train, t->seed,
                                   &t->oversampled, err)))
        return st;
    /* data.shuffle: chunks, over the training rows as they are now final. */
    if ((st = nni_chunk_shuffle_read(data, &t->data_files, train_split, &t->data_source,
                                     &t->chunk_shuffle, err)))
        return st;
    if (t->chunk_shuffle.enabled && t->sampling == NNI_SAMPLING_SHARD)
        return nn_cfg_fail(err, nn_cfg_get(data, "shuffle"), "chunks orders the chunks of the "
                           "whole training split, but with sampling: shard each rank shuffles "
                           "its own rows (use sampling: global)");
    if (t->chunk_shuffle.enabled &&
        (st = nni_chunk_shuffle_plan(&t->chunk_shuffle, t->train_rows, t->n_train,
                                     t->train.first, err)))
        return st;
    t->streamed_target_input = from_input && t->data_cache == DATA_CACHE_NONE;
    for (int i = 0; i < 3 && from_input; i++) {
        if (splits[i] && t->streamed_target_input)
            nni_dataset_target_from_streamed_input(splits[i]);
        else if (splits[i] && (st = nni_dataset_target_from_input(splits[i], err)))
            return st;
    }
    return t->data_cache == DATA_CACHE_NONE ? open_streams(t, data, err) : NN_OK;
}
