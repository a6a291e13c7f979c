/* CKA between layers: the linear kernel in feature space, the RBF kernel and minibatch CKA
 * through Gram matrices. All products go through the engine's GEMM (core/gemm.h), each
 * thread on its own share of output rows. Sums over samples are taken in blocks: a block
 * of rows in single precision, the blocks added in double, so a sum over 10^4..10^5 rows
 * keeps about six significant digits. */
#include "study/cka.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"
#include "core/threads.h"

/* Rows per single-precision block of a sum over samples. */
enum { ROW_BLOCK = 512 };

/* A copy of x (n x p) with every column's mean (taken in double) subtracted. */
static float *center_columns(const float *x, int64_t n, int64_t p)
{
    float *c = malloc((size_t)(n * p) * sizeof *c);
    double *mean = calloc((size_t)p, sizeof *mean);
    if (!c || !mean) {
        free(c);
        free(mean);
        return NULL;
    }
    for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < p; j++)
            mean[j] += x[r * p + j];
    for (int64_t j = 0; j < p; j++)
        mean[j] /= (double)n;
    for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < p; j++)
            c[r * p + j] = (float)(x[r * p + j] - mean[j]);
    free(mean);
    return c;
}

/* ||X^T Y||_F^2 for X (n x p), Y (n x q): the p x q product summed over row blocks, each
 * thread holding its own rows of the product. */
static double cross_frobenius2(const float *x, int64_t p, const float *y, int64_t q, int64_t n)
{
    double total = 0;
    int threads = nni_threads();
    if (threads > p)
        threads = (int)p;
#pragma omp parallel num_threads(threads) reduction(+ : total)
    {
        int64_t first, end;
        nni_thread_share(p, omp_get_thread_num(), threads, &first, &end);
        int64_t rows = end - first;
        float *block = malloc((size_t)(rows * q) * sizeof *block);
        double *sum = calloc((size_t)(rows * q), sizeof *sum);
        for (int64_t r0 = 0; block && sum && rows > 0 && r0 < n; r0 += ROW_BLOCK) {
            int64_t k = n - r0 < ROW_BLOCK ? n - r0 : ROW_BLOCK;
            nni_gemm_nn(rows, q, k, x + r0 * p + first, 1, p, y + r0 * q, q, block, q, 0);
            for (int64_t i = 0; i < rows * q; i++)
                sum[i] += block[i];
        }
        if (rows > 0 && (!block || !sum))
            total = NAN;
        for (int64_t i = 0; block && sum && i < rows * q; i++)
            total += sum[i] * sum[i];
        free(block);
        free(sum);
    }
    return total;
}

/* gram = x x^T (n x n) for x (n x p). */
static void gram_linear(const float *x, int64_t n, int64_t p, float *gram)
{
    int threads = nni_threads();
#pragma omp parallel num_threads(threads)
    {
        int64_t first, end;
        nni_thread_share(n, omp_get_thread_num(), threads, &first, &end);
        if (end > first)
            nni_gemm_nt(end - first, n, p, x + first * p, p, x, p, gram + first * n, n, 0);
    }
}

static void swap_floats(float *a, float *b)
{
    float t = *a;
    *a = *b;
    *b = t;
}

/* The k-th smallest of v[0..count) (v is reordered): quickselect. */
static float select_kth(float *v, int64_t count, int64_t k)
{
    int64_t lo = 0, hi = count - 1;
    while (lo < hi) {
        float pivot = v[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j)
                swap_floats(&v[i++], &v[j--]);
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

/* NumPy's median of v (v is reordered). */
static double median(float *v, int64_t count)
{
    int64_t half = count / 2;
    double upper = select_kth(v, count, half);
    if (count % 2)
        return upper;
    float lower = v[0]; /* after the selection, v[0..half) holds the values below v[half] */
    for (int64_t i = 1; i < half; i++)
        if (v[i] > lower)
            lower = v[i];
    return (lower + upper) / 2;
}

/* gram = exp(-d^2 / (2 median(d^2))), d^2 the squared distances between x's rows;
 * scratch holds n x n floats. */
static void gram_rbf(const float *x, int64_t n, int64_t p, float *gram, float *scratch)
{
    gram_linear(x, n, p, gram);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            float d = gram[i * n + i] + gram[j * n + j] - 2 * gram[i * n + j];
            scratch[i * n + j] = d > 0 ? d : 0;
        }
    memcpy(gram, scratch, (size_t)(n * n) * sizeof *gram);
    double bandwidth = 2 * median(scratch, n * n);
    for (int64_t i = 0; i < n * n; i++)
        gram[i] = (float)exp(-gram[i] / bandwidth);
}

/* H K H with H = I - 11^T/n, for a symmetric K. */
static void center_gram(float *k, int64_t n)
{
    double *row_mean = calloc((size_t)n, sizeof *row_mean), total = 0;
    if (!row_mean)
        return;
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < n; j++)
            row_mean[i] += k[i * n + j];
        total += row_mean[i];
        row_mean[i] /= (double)n;
    }
    total /= (double)n * (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            k[i * n + j] = (float)(k[i * n + j] - row_mean[i] - row_mean[j] + total);
    free(row_mean);
}

static double dot(const float *a, const float *b, int64_t count)
{
    double s = 0;
    for (int64_t i = 0; i < count; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* The unbiased HSIC estimator (Song et al., 2012) of two Gram matrices of m >= 4 samples
 * whose diagonals were set to zero; row_k, row_l their row sums. */
static double hsic_unbiased(const float *k, const double *row_k, const float *l,
                            const double *row_l, int64_t m)
{
    double sum_k = 0, sum_l = 0, cross = 0;
    for (int64_t i = 0; i < m; i++) {
        sum_k += row_k[i];
        sum_l += row_l[i];
        cross += row_k[i] * row_l[i];
    }
    double trace = dot(k, l, m * m), dm = (double)m;
    return (trace + sum_k * sum_l / ((dm - 1) * (dm - 2)) - 2 * cross / (dm - 2)) /
           (dm * (dm - 3));
}

/* The layers of a and b as one list (b's after a's unless b is a). */
typedef struct layer_list {
    const nni_cka_input *layer[512];
    int count, offset_b;
} layer_list;

static double ratio(double cross, double self_a, double self_b)
{
    return cross / sqrt(self_a * self_b);
}

static nn_status cka_linear(const layer_list *list, int n_a, int n_b, int same, int64_t n,
                            double *matrix, nn_error *err)
{
    float **centered = calloc((size_t)list->count, sizeof *centered);
    double *self = calloc((size_t)list->count, sizeof *self);
    nn_status st = centered && self ? NN_OK : nn_fail(err, NN_ERR_OTHER, "out of memory");
    for (int i = 0; !st && i < list->count; i++) {
        const nni_cka_input *x = list->layer[i];
        centered[i] = center_columns(x->values, n, x->width);
        if (!centered[i])
            st = nn_fail(err, NN_ERR_OTHER, "out of memory");
        else
            self[i] = cross_frobenius2(centered[i], x->width, centered[i], x->width, n);
    }
    for (int i = 0; !st && i < n_a; i++)
        for (int j = same ? i : 0; j < n_b; j++) {
            int jb = list->offset_b + j;
            double value = i == jb ? self[i]
                                   : cross_frobenius2(centered[i], list->layer[i]->width,
                                                      centered[jb], list->layer[jb]->width, n);
            matrix[i * n_b + j] = ratio(value, self[i], self[jb]);
            if (same)
                matrix[j * n_b + i] = matrix[i * n_b + j];
        }
    for (int i = 0; centered && i < list->count; i++)
        free(centered[i]);
    free(centered);
    free(self);
    return st;
}

/* HSIC between every pair of a's and b's layers on one set of rows: full (centered Gram
 * matrices, biased estimator) or one minibatch (zero diagonals, unbiased estimator); the
 * values are added to hsic[] (pairs) and self[] (each layer with itself). */
static void add_hsic(const layer_list *list, int n_a, int n_b, int same, int64_t first,
                     int64_t m, nni_cka_kernel kernel, int unbiased,
                     float **gram, double **row_sum, float *scratch, double *hsic, double *self)
{
    for (int i = 0; i < list->count; i++) {
        const nni_cka_input *x = list->layer[i];
        const float *rows = x->values + first * x->width;
        if (kernel == NNI_CKA_RBF)
            gram_rbf(rows, m, x->width, gram[i], scratch);
        else
            gram_linear(rows, m, x->width, gram[i]);
        if (unbiased) {
            for (int64_t r = 0; r < m; r++) {
                gram[i][r * m + r] = 0;
                row_sum[i][r] = 0;
                for (int64_t c = 0; c < m; c++)
                    row_sum[i][r] += gram[i][r * m + c];
            }
            self[i] += hsic_unbiased(gram[i], row_sum[i], gram[i], row_sum[i], m);
        } else {
            center_gram(gram[i], m);
            self[i] += dot(gram[i], gram[i], m * m);
        }
    }
    for (int i = 0; i < n_a; i++)
        for (int j = same ? i : 0; j < n_b; j++) {
            int jb = list->offset_b + j;
            hsic[i * n_b + j] += unbiased ? hsic_unbiased(gram[i], row_sum[i], gram[jb],
                                                          row_sum[jb], m)
                                          : dot(gram[i], gram[jb], m * m);
        }
}

static nn_status cka_gram(const layer_list *list, int n_a, int n_b, int same, int64_t n,
                          nni_cka_kernel kernel, int64_t minibatch, double *matrix,
                          nn_error *err)
{
    int64_t m = minibatch ? minibatch : n;
    double gib = (double)(list->count + 1) * (double)m * (double)m * 4 / (1 << 30);
    if (gib > 8)
        return nn_fail(err, NN_ERR_CONFIG, "CKA on %lld rows at once needs %.1f GiB of Gram "
                       "matrices: give --minibatch M or fewer --rows", (long long)m, gib);
    float **gram = calloc((size_t)list->count, sizeof *gram);
    double **row_sum = calloc((size_t)list->count, sizeof *row_sum);
    double *self = calloc((size_t)list->count, sizeof *self);
    double *hsic = calloc((size_t)(n_a * n_b), sizeof *hsic);
    float *scratch = kernel == NNI_CKA_RBF ? malloc((size_t)(m * m) * sizeof *scratch) : NULL;
    int ok = gram && row_sum && self && hsic && (kernel != NNI_CKA_RBF || scratch);
    for (int i = 0; ok && i < list->count; i++) {
        gram[i] = malloc((size_t)(m * m) * sizeof **gram);
        row_sum[i] = malloc((size_t)m * sizeof **row_sum);
        ok = gram[i] && row_sum[i];
    }
    if (ok)
        for (int64_t first = 0; first + m <= n; first += m)
            add_hsic(list, n_a, n_b, same, first, m, kernel, minibatch > 0, gram, row_sum,
                     scratch, hsic, self);
    for (int i = 0; ok && i < n_a; i++)
        for (int j = same ? i : 0; j < n_b; j++) {
            matrix[i * n_b + j] = ratio(hsic[i * n_b + j], self[i], self[list->offset_b + j]);
            if (same)
                matrix[j * n_b + i] = matrix[i * n_b + j];
        }
    for (int i = 0; gram && row_sum && i < list->count; i++) {
        free(gram[i]);
        free(row_sum[i]);
    }
    free(gram);
    free(row_sum);
    free(self);
    free(hsic);
    free(scratch);
    return ok ? NN_OK : nn_fail(err, NN_ERR_OTHER, "out of memory");
}

nn_status nni_cka_matrix(const nni_cka_input *a, int n_a, const nni_cka_input *b, int n_b,
                         int64_t n, nni_cka_kernel kernel, int64_t minibatch, double *matrix,
                         nn_error *err)
{
    layer_list list = {.count = 0};
    int same = a == b;
    if (n_a + (same ? 0 : n_b) > (int)(sizeof list.layer / sizeof list.layer[0]))
        return nn_fail(err, NN_ERR_CONFIG, "CKA of more than %d layers at once",
                       (int)(sizeof list.layer / sizeof list.layer[0]));
    if (minibatch && (minibatch < 4 || minibatch > n))
        return nn_fail(err, NN_ERR_CONFIG, "--minibatch %lld: needs 4 <= M <= %lld (the rows)",
                       (long long)minibatch, (long long)n);
    if (n < 2)
        return nn_fail(err, NN_ERR_CONFIG, "CKA needs at least 2 rows, not %lld", (long long)n);
    for (int i = 0; i < n_a; i++)
        list.layer[list.count++] = &a[i];
    list.offset_b = same ? 0 : n_a;
    for (int j = 0; !same && j < n_b; j++)
        list.layer[list.count++] = &b[j];
    /* Feature space costs n p q a pair, Gram matrices n^2 p a layer: the first wins while
     * layers are narrower than the rows (dense layers), the second for wide ones
     * (convolution outputs of tens of thousands of values on a thousand samples). */
    int64_t widest = 0;
    for (int i = 0; i < list.count; i++)
        widest = list.layer[i]->width > widest ? list.layer[i]->width : widest;
    if (kernel == NNI_CKA_LINEAR && !minibatch && widest <= n)
        return cka_linear(&list, n_a, n_b, same, n, matrix, err);
    return cka_gram(&list, n_a, n_b, same, n, kernel, minibatch, matrix, err);
}

nn_status nni_cka_reps(const nni_reps *a, const nni_reps *b, nni_cka_kernel kernel,
                       int64_t minibatch, double *matrix, nn_error *err)
{
    nni_cka_input *in_a = calloc((size_t)a->n_layers, sizeof *in_a);
    nni_cka_input *in_b = a == b ? in_a : calloc((size_t)b->n_layers, sizeof *in_b);
    nn_status st = in_a && in_b ? NN_OK : nn_fail(err, NN_ERR_OTHER, "out of memory");
    for (int i = 0; !st && i < a->n_layers; i++)
        in_a[i] = (nni_cka_input){a->values[i], a->width[i]};
    for (int j = 0; !st && a != b && j < b->n_layers; j++)
        in_b[j] = (nni_cka_input){b->values[j], b->width[j]};
    if (!st)
        st = nni_cka_matrix(in_a, a->n_layers, in_b, b->n_layers, a->rows, kernel, minibatch,
                            matrix, err);
    free(in_a);
    if (in_b != in_a)
        free(in_b);
    return st;
}
