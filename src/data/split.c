/* The validation split carved from train (`data.val.split`): stratified by label and fixed
 * by the seed.
 *
 * Class c gives round(fraction * count_c) of its rows to validation, chosen by a partial
 * Fisher-Yates shuffle of its rows (in file order) driven by the stream
 * (seed, NNI_RNG_SPLIT, epoch 0, index c). Each class's choice depends only on the seed and
 * that class's rows, so the split is the same on every rank and for every number of ranks,
 * and the total is a fixed function of the per-class counts. Value targets have no classes:
 * round(fraction * n) rows are chosen the same way from stream index 0. */
#include "nn/data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "data/split.h"

/* Moves a uniformly random choice of `take` of rows[0..count) to rows[0..take). */
static void choose(int64_t *rows, int64_t count, int64_t take, uint64_t seed, uint64_t stream)
{
    nni_rng rng = nni_rng_stream(seed, NNI_RNG_SPLIT, 0, stream, 0);
    for (int64_t i = 0; i < take; i++) {
        int64_t j = i + (int64_t)nni_rng_below(&rng, (uint32_t)(count - i));
        int64_t t = rows[i];
        rows[i] = rows[j];
        rows[j] = t;
    }
}

nn_status nni_split_stratified(const nn_dataset *train, double fraction, uint64_t seed,
                               int64_t **train_rows, int64_t *n_train, int64_t **val_rows,
                               int64_t *n_val, nn_error *err)
{
    *train_rows = *val_rows = NULL;
    *n_train = *n_val = 0;
    if (!(fraction > 0 && fraction < 1))
        return nn_fail(err, NN_ERR_CONFIG, "validation split %g must be in (0, 1)", fraction);
    const int64_t n = train->n;
    if (n <= 0)
        return nn_fail(err, NN_ERR_DATA, "%s: /%s: empty split (0 rows)", train->path,
                       train->split);
    if ((uint64_t)n > UINT32_MAX)
        return nn_fail(err, NN_ERR_DATA, "%s: /%s: too many rows to split", train->path,
                       train->split);

    nn_status status = NN_OK;
    unsigned char *in_val = calloc((size_t)n, 1);
    int64_t *rows = malloc((size_t)n * sizeof *rows);
    int64_t *class_start = NULL;
    if (!in_val || !rows)
        goto no_memory;

    if (train->target_kind == NN_TARGET_LABELS) {
        int32_t max_label = -1;
        for (int64_t i = 0; i < n; i++) {
            if (train->labels[i] < 0) {
                status = nn_fail(err, NN_ERR_DATA, "%s: /%s/y[%lld]: negative label %d",
                                 train->path, train->split, (long long)(train->first + i),
                                 train->labels[i]);
                goto done;
            }
            if (train->labels[i] > max_label)
                max_label = train->labels[i];
        }
        int64_t classes = (int64_t)max_label + 1;
        /* Counting sort: rows grouped by class, file order within a class. */
        class_start = calloc((size_t)classes + 1, sizeof *class_start);
        if (!class_start)
            goto no_memory;
        for (int64_t i = 0; i < n; i++)
            class_start[train->labels[i] + 1]++;
        for (int64_t c = 0; c < classes; c++)
            class_start[c + 1] += class_start[c];
        for (int64_t i = 0; i < n; i++)
            rows[class_start[train->labels[i]]++] = i;
        for (int64_t c = classes; c > 0; c--)
            class_start[c] = class_start[c - 1];
        class_start[0] = 0;

        for (int64_t c = 0; c < classes; c++) {
            int64_t *members = rows + class_start[c];
            int64_t count = class_start[c + 1] - class_start[c];
            int64_t take = (int64_t)llround(fraction * (double)count);
            choose(members, count, take, seed, (uint64_t)c);
            for (int64_t i = 0; i < take; i++)
                in_val[members[i]] = 1;
        }
    } else {
        for (int64_t i = 0; i < n; i++)
            rows[i] = i;
        int64_t take = (int64_t)llround(fraction * (double)n);
        choose(rows, n, take, seed, 0);
        for (int64_t i = 0; i < take; i++)
            in_val[rows[i]] = 1;
    }

    int64_t val_count = 0;
    for (int64_t i = 0; i < n; i++)
        val_count += in_val[i];
    if (val_count == 0 || val_count == n) {
        status = nn_fail(err, NN_ERR_DATA,
                         "%s: /%s: a validation split of %g leaves %s empty (%lld rows, "
                         "round(fraction x rows) taken per class)",
                         train->path, train->split, fraction,
                         val_count == 0 ? "validation" : "training", (long long)n);
        goto done;
    }
    *val_rows = malloc((size_t)val_count * sizeof **val_rows);
    *train_rows = malloc((size_t)(n - val_count) * sizeof **train_rows);
    if (!*val_rows || !*train_rows)
        goto no_memory;
    for (int64_t i = 0; i < n; i++) {
        if (in_val[i])
            (*val_rows)[(*n_val)++] = i;
        else
            (*train_rows)[(*n_train)++] = i;
    }
    goto done;

no_memory:
    status = nn_fail(err, NN_ERR_OTHER, "%s: /%s: out of memory splitting %lld rows",
                     train->path, train->split, (long long)n);
done:
    if (status != NN_OK) {
        free(*val_rows);
        free(*train_rows);
        *val_rows = *train_rows = NULL;
        *n_val = *n_train = 0;
    }
    free(class_start);
    free(rows);
    free(in_val);
    return status;
}
