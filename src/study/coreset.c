/* k-center greedy, herding and random selection (src/study/coreset.h). Both greedy methods
 * keep one number per candidate (its distance to the nearest center, or its score) and
 * update it with one pass over the features per chosen row: O(n d) memory traffic per
 * choice, no n x n matrix. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "study/coreset.h"

const char *const nni_coreset_method_names[] = {"kcenter", "herding", "random", NULL};

/* Eight partial sums so that the loop vectorizes without reassociating one sum. */
static double squared_distance(const float *a, const float *b, int64_t d)
{
    float part[8] = {0};
    int64_t j = 0;
    for (; j + 8 <= d; j += 8)
        for (int l = 0; l < 8; l++) {
            float diff = a[j + l] - b[j + l];
            part[l] += diff * diff;
        }
    double sum = 0;
    for (int l = 0; l < 8; l++)
        sum += part[l];
    for (; j < d; j++)
        sum += (double)(a[j] - b[j]) * (double)(a[j] - b[j]);
    return sum;
}

static double dot(const double *w, const float *x, int64_t d)
{
    double part[8] = {0};
    int64_t j = 0;
    for (; j + 8 <= d; j += 8)
        for (int l = 0; l < 8; l++)
            part[l] += w[j + l] * (double)x[j + l];
    double sum = 0;
    for (int l = 0; l < 8; l++)
        sum += part[l];
    for (; j < d; j++)
        sum += w[j] * (double)x[j];
    return sum;
}

static void candidates_mean(const float *features, int64_t d, const int64_t *rows, int64_t n,
                            double *mean)
{
    memset(mean, 0, (size_t)d * sizeof *mean);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++)
            mean[j] += features[rows[i] * d + j];
    for (int64_t j = 0; j < d; j++)
        mean[j] /= (double)n;
}

static void kcenter(const float *features, int64_t d, const int64_t *rows, int64_t n,
                    int64_t k, double *mean, double *score, float *center, int64_t *chosen)
{
    candidates_mean(features, d, rows, n, mean);
    for (int64_t j = 0; j < d; j++)
        center[j] = (float)mean[j];
    int64_t next = 0;
    for (int64_t i = 0; i < n; i++) {
        score[i] = squared_distance(features + rows[i] * d, center, d);
        if (score[i] < score[next])
            next = i;
    }
    for (int64_t i = 0; i < n; i++)
        score[i] = INFINITY;
    for (int64_t c = 0; c < k; c++) {
        chosen[c] = rows[next];
        const float *x = features + rows[next] * d;
        int64_t far = 0;
        for (int64_t i = 0; i < n; i++) {
            double dist = squared_distance(features + rows[i] * d, x, d);
            if (dist < score[i])
                score[i] = dist;
            if (score[i] > score[far])
                far = i;
        }
        next = far; /* a chosen row has distance 0: never chosen twice while k <= n */
    }
}

/* w starts at the mean; each step takes the unchosen row with the largest <w, x> and moves
 * w by (mean - x), so the chosen rows' running mean follows the mean of all. */
static void herding(const float *features, int64_t d, const int64_t *rows, int64_t n,
                    int64_t k, double *mean, double *w, char *taken, int64_t *chosen)
{
    candidates_mean(features, d, rows, n, mean);
    memcpy(w, mean, (size_t)d * sizeof *w);
    for (int64_t c = 0; c < k; c++) {
        int64_t best = -1;
        double best_score = -INFINITY;
        for (int64_t i = 0; i < n; i++) {
            if (taken[i])
                continue;
            double s = dot(w, features + rows[i] * d, d);
            if (best < 0 || s > best_score) {
                best = i;
                best_score = s;
            }
        }
        taken[best] = 1;
        chosen[c] = rows[best];
        const float *x = features + rows[best] * d;
        for (int64_t j = 0; j < d; j++)
            w[j] += mean[j] - (double)x[j];
    }
}

static void random_rows(const int64_t *rows, int64_t n, int64_t k, uint64_t seed,
                        int64_t *order, int64_t *chosen)
{
    memcpy(order, rows, (size_t)n * sizeof *order);
    nni_rng rng = nni_rng_stream(seed, NNI_RNG_NOISE, 0, 0, 4);
    for (int64_t c = 0; c < k; c++) { /* the first k steps of a Fisher-Yates shuffle */
        int64_t j = c + (int64_t)(nni_rng_uniform_double(&rng) * (double)(n - c));
        int64_t tmp = order[c];
        order[c] = order[j];
        order[j] = tmp;
        chosen[c] = order[c];
    }
}

nn_status nni_coreset_select(const float *features, int64_t d, const int64_t *rows,
                             int64_t n_rows, int64_t k, nni_coreset_method method,
                             uint64_t seed, int64_t *chosen, nn_error *err)
{
    if (k < 1 || k > n_rows)
        return nn_fail(err, NN_ERR_CONFIG, "coreset: k = %lld must be in [1, %lld] (the rows "
                       "to choose from)", (long long)k, (long long)n_rows);
    int64_t *all = NULL;
    if (!rows) {
        all = malloc((size_t)n_rows * sizeof *all);
        for (int64_t i = 0; all && i < n_rows; i++)
            all[i] = i;
        rows = all;
    }
    double *mean = malloc((size_t)d * sizeof *mean), *work = malloc((size_t)d * sizeof *work);
    double *score = malloc((size_t)n_rows * sizeof *score);
    float *center = malloc((size_t)d * sizeof *center);
    char *taken = calloc((size_t)n_rows, 1);
    int64_t *order = malloc((size_t)n_rows * sizeof *order);
    nn_status st = NN_OK;
    if (!rows || !mean || !work || !score || !center || !taken || !order)
        st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    else if (method == NNI_CORESET_KCENTER)
        kcenter(features, d, rows, n_rows, k, mean, score, center, chosen);
    else if (method == NNI_CORESET_HERDING)
        herding(features, d, rows, n_rows, k, mean, work, taken, chosen);
    else
        random_rows(rows, n_rows, k, seed, order, chosen);
    free(all);
    free(mean);
    free(work);
    free(score);
    free(center);
    free(taken);
    free(order);
    return st;
}
