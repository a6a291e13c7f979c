/* Extracting layer representations: the checkpoint's model rebuilt (nn_ckpt_runner), the
 * requested layers looked up by name, forward passes in evaluation mode over this rank's
 * share of the rows, each chunk's layer outputs copied out, and the shares summed over the
 * ranks (every other rank contributes zeros to a row, so the sum is that row exactly). */
#define _DEFAULT_SOURCE /* madvise's MADV_HUGEPAGE */
#include "study/represent.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "data/gather.h"
#include "nn/model.h"
#include "nn/trainer.h"

nn_status nni_parse_rows(const char *text, int64_t *first, int64_t *end, nn_error *err)
{
    *first = 0;
    *end = -1;
    if (!text)
        return NN_OK;
    const char *colon = strchr(text, ':');
    if (!colon)
        return nn_fail(err, NN_ERR_CONFIG, "--rows '%s': expected A:B (rows A to B-1)", text);
    char *stop;
    if (colon != text) {
        *first = strtoll(text, &stop, 10);
        if (stop != colon || *first < 0)
            return nn_fail(err, NN_ERR_CONFIG, "--rows '%s': '%.*s' is not a row number", text,
                           (int)(colon - text), text);
    }
    if (colon[1]) {
        *end = strtoll(colon + 1, &stop, 10);
        if (*stop || *end < 0)
            return nn_fail(err, NN_ERR_CONFIG, "--rows '%s': '%s' is not a row number", text,
                           colon + 1);
        if (*end <= *first)
            return nn_fail(err, NN_ERR_CONFIG, "--rows '%s': the range is empty", text);
    }
    return NN_OK;
}

/* The model's layer names after the input, NULL-terminated, for did-you-mean messages. */
static const char **layer_names(const nn_model *model)
{
    const char **names = calloc((size_t)model->n_layers + 1, sizeof *names);
    for (int i = 0; names && i < model->n_layers; i++)
        names[i] = model->layers[i]->name;
    return names;
}

static nn_status resolve_layers(const nn_model *model, const char *spec, nni_reps *r,
                                int **ids, nn_error *err)
{
    int capacity = model->n_layers;
    *ids = calloc((size_t)capacity, sizeof **ids);
    r->names = calloc((size_t)capacity, sizeof *r->names);
    r->width = calloc((size_t)capacity, sizeof *r->width);
    r->values = calloc((size_t)capacity, sizeof *r->values);
    if (!*ids || !r->names || !r->width || !r->values)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    if (!spec || !strcmp(spec, "all")) {
        for (int i = spec ? 1 : model->output->id; i < model->n_layers; i++) {
            (*ids)[r->n_layers++] = i;
            if (!spec)
                break;
        }
    } else {
        const char *cursor = spec;
        while (*cursor) {
            size_t len = strcspn(cursor, ",");
            char name[NN_NAME_MAX];
            if (len == 0 || len >= sizeof name)
                return nn_fail(err, NN_ERR_CONFIG, "--layers '%s': empty or too long name",
                               spec);
            memcpy(name, cursor, len);
            name[len] = '\0';
            int found = -1;
            for (int i = 0; i < model->n_layers; i++)
                if (!strcmp(model->layers[i]->name, name))
                    found = i;
            if (found < 0) {
                const char **names = layer_names(model);
                nn_status st = names ? nn_cfg_fail_unknown(err, NULL, "layer", name, names)
                                     : nn_fail(err, NN_ERR_OTHER, "out of memory");
                free(names);
                return st;
            }
            if (r->n_layers == capacity)
                return nn_fail(err, NN_ERR_CONFIG, "--layers '%s': a layer is named twice",
                               spec);
            (*ids)[r->n_layers++] = found;
            cursor += len + (cursor[len] == ',');
        }
        if (r->n_layers == 0)
            return nn_fail(err, NN_ERR_CONFIG, "--layers: no layer named");
    }
    r->output_index = -1;
    for (int k = 0; k < r->n_layers; k++) {
        const nn_layer *layer = model->layers[(*ids)[k]];
        if (layer == model->output)
            r->output_index = k;
        snprintf(r->names[k], sizeof r->names[k], "%s", layer->name);
        r->width[k] = nn_shape_size(layer->out_shape);
    }
    return NN_OK;
}

/* Zeroed room for one layer's rows. Memory fresh from the kernel costs a page fault per
 * 4 KiB page on first touch, which on a virtual machine costs as much as the forward pass
 * that fills it (10,000 rows of the example MLP: 9,000 faults); 2 MiB pages where the
 * kernel offers them on request (transparent huge pages in madvise mode) cut that 512-fold. */
static float *alloc_rows(int64_t count)
{
    const size_t huge = (size_t)2 << 20, bytes = (size_t)count * sizeof(float);
    void *p = NULL;
    if (bytes < huge)
        return calloc((size_t)count, sizeof(float));
    if (posix_memalign(&p, huge, (bytes + huge - 1) / huge * huge))
        return NULL;
    madvise(p, (bytes + huge - 1) / huge * huge, MADV_HUGEPAGE);
    memset(p, 0, bytes);
    return p;
}

/* Forward passes over rows [first, first + count) of the runner's split (indices relative
 * to r->row_first in the output arrays). */
static void run_rows(nn_ckpt_runner *l, const int *ids, nni_reps *r, int64_t first,
                     int64_t count, int64_t *rows)
{
    nn_pass pass = {.training = 0};
    for (int64_t done = 0; done < count; done += l->capacity) {
        int64_t chunk = count - done < l->capacity ? count - done : l->capacity;
        for (int64_t i = 0; i < chunk; i++)
            rows[i] = r->row_first + first + done + i;
        nni_dataset_gather_x(&l->data, rows, chunk, nn_model_input(l->model));
        pass.batch = chunk;
        nn_model_forward(l->model, &pass);
        for (int k = 0; k < r->n_layers; k++)
            memcpy(r->values[k] + (first + done) * r->width[k], l->model->layers[ids[k]]->out,
                   (size_t)(chunk * r->width[k]) * sizeof(float));
    }
}

nn_status nni_reps_extract(const nni_reps_request *req, const nn_comm *comm, nni_reps *r,
                           nn_error *err)
{
    memset(r, 0, sizeof *r);
    nn_ckpt_runner l;
    int *ids = NULL;
    int64_t *rows = NULL;
    nn_status st = nn_ckpt_runner_open(req->checkpoint, req->split, req->data_path, &l, err);
    if (!st)
        st = resolve_layers(l.model, req->layers, r, &ids, err);
    if (st)
        nn_fail_prefix(err, "%s: ", req->checkpoint);
    if (!st) {
        int64_t end = req->row_end < 0 ? l.data.n : req->row_end;
        if (req->row_first >= l.data.n || end > l.data.n || end <= req->row_first)
            st = nn_fail(err, NN_ERR_CONFIG, "rows %lld:%lld: /%s has rows 0:%lld",
                         (long long)req->row_first, (long long)end, req->split,
                         (long long)l.data.n);
        r->row_first = req->row_first;
        r->rows = end - req->row_first;
    }
    for (int k = 0; !st && k < r->n_layers; k++) {
        r->values[k] = alloc_rows(r->rows * r->width[k]);
        if (!r->values[k])
            st = nn_fail(err, NN_ERR_OTHER, "out of memory holding %lld x %lld values of "
                         "layer '%s' (fewer --rows?)", (long long)r->rows,
                         (long long)r->width[k], r->names[k]);
    }
    if (!st && !(rows = malloc((size_t)l.capacity * sizeof *rows)))
        st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    if (!st) {
        int64_t first, count;
        nn_comm_share(comm, r->rows, &first, &count);
        run_rows(&l, ids, r, first, count, rows);
        for (int k = 0; k < r->n_layers; k++)
            nn_comm_sum_floats(comm, r->values[k], r->rows * r->width[k]);
        r->num_classes = l.data.num_classes;
        r->input_size = l.data.sample_size;
        snprintf(r->data_path, sizeof r->data_path, "%s", l.data.path);
        if (l.data.labels) {
            r->labels = malloc((size_t)r->rows * sizeof *r->labels);
            if (!r->labels)
                st = nn_fail(err, NN_ERR_OTHER, "out of memory");
            else
                memcpy(r->labels, l.data.labels + r->row_first,
                       (size_t)r->rows * sizeof *r->labels);
        }
    }
    free(rows);
    free(ids);
    nn_ckpt_runner_close(&l);
    if (st)
        nni_reps_free(r);
    return st;
}

void nni_reps_free(nni_reps *r)
{
    for (int k = 0; r->values && k < r->n_layers; k++)
        free(r->values[k]);
    free(r->values);
    free(r->names);
    free(r->width);
    free(r->labels);
    memset(r, 0, sizeof *r);
}

nn_status nni_reps_check_same_samples(const nni_reps *a, const char *name_a, const nni_reps *b,
                                      const char *name_b, nn_error *err)
{
    if (a->input_size != b->input_size)
        return nn_fail(err, NN_ERR_DATA, "%s takes %lld input values per sample, %s takes %lld: "
                       "not the same inputs", name_a, (long long)a->input_size, name_b,
                       (long long)b->input_size);
    if (strcmp(a->data_path, b->data_path) || a->rows != b->rows ||
        (a->labels && b->labels &&
         memcmp(a->labels, b->labels, (size_t)a->rows * sizeof *a->labels)))
        return nn_fail(err, NN_ERR_DATA, "%s was trained on %s, %s on %s: give both the same "
                       "samples with --data", name_a, a->data_path, name_b, b->data_path);
    return NN_OK;
}
