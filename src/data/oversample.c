/* data.oversample (oversample.h): random oversampling and SMOTE (Chawla et al., JAIR 2002)
 * on the training rows.
 *
 * A class with n_c training rows below the goal (ratio x the largest class's rows, rounded
 * down) gets goal - n_c more. Added row i of class c draws from its own stream (seed, c, i):
 * random picks one of the class's rows; smote picks a row a of the class, one b of its
 * k nearest rows in the class (Euclidean over the stored features, ties to the lower row) and
 * a gap u in [0, 1), and appends a + u (b - a). x = raw * scale + offset is affine, so
 * interpolating the stored values interpolates the features. Nothing depends on the number
 * of ranks: every rank holds the whole training split and draws the same. */
#include "data/oversample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"

static const char *const oversample_keys[] = {"method", "k", "ratio", NULL};
static const char *const method_names[] = {"none", "random", "smote", NULL};

nn_status nni_oversample_read(const nn_cfg *data, nni_oversample *o, nn_error *err)
{
    memset(o, 0, sizeof *o);
    const nn_cfg *node = nn_cfg_get(data, "oversample");
    if (!node)
        return NN_OK;
    int method = 0;
    nn_status st = nn_cfg_check_keys(node, oversample_keys, err);
    if (st || (st = nn_cfg_read_choice(node, "method", method_names, "smote", &method, err)) ||
        (st = nn_cfg_read_int(node, "k", 5, &o->k, err)) ||
        (st = nn_cfg_read_double(node, "ratio", 1.0, &o->ratio, err)))
        return st;
    o->method = (nni_oversample_method)method;
    if (o->k < 1)
        return nn_cfg_fail(err, nn_cfg_get(node, "k"), "must be >= 1 (the nearest neighbours "
                           "a synthetic row may lie towards)");
    if (!(o->ratio > 0 && o->ratio <= 1))
        return nn_cfg_fail(err, nn_cfg_get(node, "ratio") ? nn_cfg_get(node, "ratio") : node,
                           "must be in (0, 1]: each class is brought up to ratio x the rows "
                           "of the largest");
    return NN_OK;
}

static double distance2(const float *a, const float *b, int64_t n)
{
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        const double d = (double)a[i] - b[i];
        sum += d * d;
    }
    return sum;
}

/* knn[j * k + m]: the m-th nearest row of members[j] among the other members (positions
 * into members). */
static void nearest_neighbours(const nn_dataset *ds, const int64_t *members, int64_t n,
                               int64_t k, int64_t *knn, double *best)
{
    const int64_t F = ds->sample_size;
    for (int64_t j = 0; j < n; j++) {
        const float *xj = ds->x_f32 + members[j] * F;
        int64_t found = 0;
        for (int64_t other = 0; other < n; other++) {
            if (other == j)
                continue;
            const double d = distance2(xj, ds->x_f32 + members[other] * F, F);
            /* insertion into the sorted list; later rows lose ties */
            int64_t at = found < k ? found : k;
            while (at > 0 && best[at - 1] > d)
                at--;
            if (at >= k)
                continue;
            for (int64_t m = (found < k ? found : k - 1); m > at; m--) {
                best[m] = best[m - 1];
                knn[j * k + m] = knn[j * k + m - 1];
            }
            best[at] = d;
            knn[j * k + at] = other;
            found += found < k;
        }
    }
}

nn_status nni_oversample_apply(const nni_oversample *o, nn_dataset *ds, int64_t **rows,
                               int64_t *n_rows, uint64_t seed, int64_t *added, nn_error *err)
{
    *added = 0;
    if (o->method == NNI_OVERSAMPLE_NONE)
        return NN_OK;
    if (ds->target_kind != NN_TARGET_LABELS || ds->num_classes < 2)
        return nn_fail(err, NN_ERR_CONFIG, "data.oversample needs class labels (y: N integers "
                       "of at least 2 classes)");
    if (o->method == NNI_OVERSAMPLE_SMOTE && (ds->x_is_uint8 || ds->x_lengths))
        return nn_fail(err, NN_ERR_CONFIG, "data.oversample smote interpolates float rows "
                       "of a table; %s/%s has %s (method: random repeats rows instead)",
                       ds->path, ds->split, ds->x_is_uint8 ? "uint8 samples" : "sequences");
    const int C = ds->num_classes;
    int64_t *count = calloc((size_t)C, sizeof *count);
    int64_t *start = calloc((size_t)C + 1, sizeof *start), *fill = calloc((size_t)C, sizeof *fill);
    int64_t *by_class = malloc((size_t)(*n_rows ? *n_rows : 1) * sizeof *by_class);
    nn_status st = count && start && fill && by_class
                       ? NN_OK : nn_fail(err, NN_ERR_OTHER, "out of memory");
    int64_t largest = 0, extra = 0;
    for (int64_t i = 0; !st && i < *n_rows; i++)
        count[ds->labels[(*rows)[i]]]++;
    for (int c = 0; !st && c < C; c++) {
        largest = count[c] > largest ? count[c] : largest;
        start[c + 1] = start[c] + count[c];
    }
    for (int64_t i = 0; !st && i < *n_rows; i++) { /* each class's rows, in row order */
        const int32_t c = ds->labels[(*rows)[i]];
        by_class[start[c] + fill[c]++] = (*rows)[i];
    }
    const int64_t goal = (int64_t)floor(o->ratio * (double)largest + 1e-9);
    for (int c = 0; !st && c < C; c++) {
        if (count[c] > 0 && count[c] < goal)
            extra += goal - count[c];
        if (o->method == NNI_OVERSAMPLE_SMOTE && count[c] == 1 && goal > 1)
            st = nn_fail(err, NN_ERR_DATA, "%s /%s: class %d has 1 training row: smote needs "
                         "2 or more to interpolate between", ds->path, ds->split, c);
    }
    int64_t *grown = st ? NULL : malloc((size_t)(*n_rows + extra + 1) * sizeof *grown);
    if (!st && !grown)
        st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    const int64_t F = ds->sample_size;
    if (!st && o->method == NNI_OVERSAMPLE_SMOTE && extra > 0) {
        float *x = realloc(ds->x_f32, (size_t)((ds->n + extra) * F) * sizeof *x);
        if (x)
            ds->x_f32 = x;
        int32_t *labels = x ? realloc(ds->labels, (size_t)(ds->n + extra) * sizeof *labels)
                            : NULL;
        if (labels)
            ds->labels = labels;
        else
            st = nn_fail(err, NN_ERR_OTHER, "out of memory for %lld synthetic rows",
                         (long long)extra);
    }
    if (!st)
        memcpy(grown, *rows, (size_t)*n_rows * sizeof *grown);
    int64_t next = *n_rows;
    for (int c = 0; !st && c < C; c++) {
        const int64_t n = count[c], missing = n > 0 && n < goal ? goal - n : 0;
        if (!missing)
            continue;
        const int64_t *members = by_class + start[c];
        const int64_t k = o->k < n - 1 ? o->k : n - 1;
        int64_t *knn = NULL;
        double *best = NULL;
        if (o->method == NNI_OVERSAMPLE_SMOTE) {
            knn = malloc((size_t)(n * k) * sizeof *knn);
            best = malloc((size_t)k * sizeof *best);
            if (!knn || !best) {
                free(knn);
                free(best);
                st = nn_fail(err, NN_ERR_OTHER, "out of memory");
                break;
            }
            nearest_neighbours(ds, members, n, k, knn, best);
        }
        for (int64_t i = 0; i < missing; i++) {
            nni_rng rng = nni_rng_stream(seed, NNI_RNG_OVERSAMPLE, (uint32_t)c, (uint64_t)i, 0);
            const int64_t a = (int64_t)nni_rng_below(&rng, (uint32_t)n);
            if (o->method == NNI_OVERSAMPLE_RANDOM) {
                grown[next++] = members[a];
                continue;
            }
            const int64_t b = knn[a * k + nni_rng_below(&rng, (uint32_t)k)];
            const float gap = (float)nni_rng_uniform_double(&rng);
            const float *xa = ds->x_f32 + members[a] * F, *xb = ds->x_f32 + members[b] * F;
            float *dst = ds->x_f32 + ds->n * F;
            for (int64_t f = 0; f < F; f++)
                dst[f] = xa[f] + gap * (xb[f] - xa[f]);
            ds->labels[ds->n] = c;
            grown[next++] = ds->n++;
        }
        free(knn);
        free(best);
    }
    if (!st) {
        free(*rows);
        *rows = grown;
        *n_rows = next;
        *added = extra;
        grown = NULL;
    }
    free(grown);
    free(count);
    free(start);
    free(fill);
    free(by_class);
    return st;
}
