/* The Gaussian process behind nntrain search --predict: a squared-exponential kernel
 * exp(-|a - b|^2 / (2 l^2)) on standardized targets, its length scale l and noise variance
 * picked from a small grid by the log marginal likelihood, with the leave-one-out error in
 * closed form. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search/gp.h"

#define PI 3.14159265358979323846

struct nni_gp {
    int n, d;
    double *x, *alpha, *chol;
    double y_mean, y_sd, length, noise, loo_rmse;
};

void nni_gp_free(nni_gp *gp)
{
    if (!gp)
        return;
    free(gp->x);
    free(gp->alpha);
    free(gp->chol);
    free(gp);
}

static double kernel(const double *a, const double *b, int d, double length)
{
    double sq = 0;
    for (int j = 0; j < d; j++)
        sq += (a[j] - b[j]) * (a[j] - b[j]);
    return exp(-sq / (2 * length * length));
}

/* In place: the lower triangle of a becomes L with L L^T = a. 0 when positive definite. */
static int cholesky(double *a, int n)
{
    for (int j = 0; j < n; j++) {
        double diag = a[(size_t)j * n + j];
        for (int k = 0; k < j; k++)
            diag -= a[(size_t)j * n + k] * a[(size_t)j * n + k];
        if (!(diag > 0))
            return -1;
        diag = sqrt(diag);
        a[(size_t)j * n + j] = diag;
        for (int i = j + 1; i < n; i++) {
            double v = a[(size_t)i * n + j];
            for (int k = 0; k < j; k++)
                v -= a[(size_t)i * n + k] * a[(size_t)j * n + k];
            a[(size_t)i * n + j] = v / diag;
        }
    }
    return 0;
}

static void solve_lower(const double *l, int n, double *b)
{
    for (int i = 0; i < n; i++) {
        double v = b[i];
        for (int k = 0; k < i; k++)
            v -= l[(size_t)i * n + k] * b[k];
        b[i] = v / l[(size_t)i * n + i];
    }
}

static void solve_lower_transposed(const double *l, int n, double *b)
{
    for (int i = n - 1; i >= 0; i--) {
        double v = b[i];
        for (int k = i + 1; k < n; k++)
            v -= l[(size_t)k * n + i] * b[k];
        b[i] = v / l[(size_t)i * n + i];
    }
}

/* Factorizes K + noise I for the given hyperparameters; returns the log marginal
 * likelihood (-inf when the matrix is not positive definite). */
static double factorize(const double *x, const double *y, int n, int d, double length,
                        double noise, double *chol, double *alpha)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            double k = kernel(x + (size_t)i * d, x + (size_t)j * d, d, length);
            chol[(size_t)i * n + j] = chol[(size_t)j * n + i] = k + (i == j ? noise : 0);
        }
    if (cholesky(chol, n))
        return -INFINITY;
    memcpy(alpha, y, (size_t)n * sizeof *alpha);
    solve_lower(chol, n, alpha);
    double fit = 0, logdet = 0;
    for (int i = 0; i < n; i++) {
        fit += alpha[i] * alpha[i];
        logdet += log(chol[(size_t)i * n + i]);
    }
    solve_lower_transposed(chol, n, alpha);
    return -0.5 * fit - logdet - 0.5 * n * log(2 * PI);
}

nn_status nni_gp_fit(const double *x, const double *y, int n, int d, nni_gp **out,
                     nn_error *err)
{
    *out = NULL;
    if (n < 1 || d < 1)
        return nn_fail(err, NN_ERR_CONFIG, "a surrogate needs at least one point and feature");
    nni_gp *gp = calloc(1, sizeof *gp);
    double *ys = malloc((size_t)n * sizeof *ys);
    if (gp) {
        gp->x = malloc((size_t)n * (size_t)d * sizeof *gp->x);
        gp->alpha = malloc((size_t)n * sizeof *gp->alpha);
        gp->chol = malloc((size_t)n * (size_t)n * sizeof *gp->chol);
    }
    if (!gp || !ys || !gp->x || !gp->alpha || !gp->chol) {
        nni_gp_free(gp);
        free(ys);
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    gp->n = n;
    gp->d = d;
    memcpy(gp->x, x, (size_t)n * (size_t)d * sizeof *x);
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++)
        mean += y[i] / n;
    for (int i = 0; i < n; i++)
        var += (y[i] - mean) * (y[i] - mean) / n;
    gp->y_mean = mean;
    gp->y_sd = var > 0 ? sqrt(var) : 1;
    for (int i = 0; i < n; i++)
        ys[i] = (y[i] - mean) / gp->y_sd;
    /* Standardized features put two typical points sqrt(2 d) apart. */
    static const double lengths[] = {0.25, 0.5, 1, 2, 4, 8};
    static const double noises[] = {1e-4, 1e-3, 1e-2, 1e-1};
    double best = -INFINITY;
    for (size_t a = 0; a < sizeof lengths / sizeof *lengths; a++)
        for (size_t b = 0; b < sizeof noises / sizeof *noises; b++) {
            double length = lengths[a] * sqrt((double)d);
            double lml = factorize(gp->x, ys, n, d, length, noises[b], gp->chol, gp->alpha);
            if (lml > best) {
                best = lml;
                gp->length = length;
                gp->noise = noises[b];
            }
        }
    if (!isfinite(best)) {
        nni_gp_free(gp);
        free(ys);
        return nn_fail(err, NN_ERR_NUMERIC, "the surrogate's kernel matrix is singular");
    }
    factorize(gp->x, ys, n, d, gp->length, gp->noise, gp->chol, gp->alpha);
    /* Leave-one-out residuals in closed form: alpha_i / (K^-1)_ii. */
    double *column = malloc((size_t)n * sizeof *column);
    double sq = 0;
    for (int i = 0; column && i < n; i++) {
        memset(column, 0, (size_t)n * sizeof *column);
        column[i] = 1;
        solve_lower(gp->chol, n, column);
        double inv_ii = 0;
        for (int k = 0; k < n; k++)
            inv_ii += column[k] * column[k];
        double r = gp->alpha[i] / inv_ii;
        sq += r * r;
    }
    gp->loo_rmse = column ? sqrt(sq / n) * gp->y_sd : NAN;
    free(column);
    free(ys);
    *out = gp;
    return NN_OK;
}

void nni_gp_predict(const nni_gp *gp, const double *x, double *mean, double *sd)
{
    double *k = malloc((size_t)gp->n * sizeof *k);
    if (!k) {
        *mean = *sd = NAN;
        return;
    }
    double m = 0;
    for (int i = 0; i < gp->n; i++) {
        k[i] = kernel(x, gp->x + (size_t)i * gp->d, gp->d, gp->length);
        m += k[i] * gp->alpha[i];
    }
    solve_lower(gp->chol, gp->n, k);
    double var = 1;
    for (int i = 0; i < gp->n; i++)
        var -= k[i] * k[i];
    free(k);
    *mean = gp->y_mean + gp->y_sd * m;
    *sd = gp->y_sd * sqrt(var > 0 ? var : 0);
}

double nni_gp_loo_rmse(const nni_gp *gp)
{
    return gp->loo_rmse;
}

double nni_gp_length_scale(const nni_gp *gp)
{
    return gp->length;
}
