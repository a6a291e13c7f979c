/* PCA through the covariance matrix: the mean and the centered scatter X^T X summed in
 * double precision (OpenBLAS's dsyrk, a block of rows at a time), summed over the ranks,
 * and its eigenvectors from LAPACK's dsyevd (OpenBLAS ships LAPACK). For image data the
 * features (784) are far fewer than the rows (60,000), so this is cheaper than an SVD of
 * the data and as accurate for the leading components. */
#include "study/pca.h"

#include <cblas.h>
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/files.h"
#include "data/gather.h"
#include "io/hdf5_util.h"

/* LAPACK's symmetric eigensolver (Fortran calling convention, hidden string lengths last). */
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda,
             double *w, double *work, const int *lwork, int *iwork, const int *liwork,
             int *info, size_t jobz_len, size_t uplo_len);

enum { PCA_BLOCK = 1024 };

void nni_pca_free(nni_pca *p)
{
    free(p->mean);
    free(p->weight);
    free(p->bias);
    free(p->variance);
    memset(p, 0, sizeof *p);
}

/* Rows [first, first + count) of ds as doubles, centered when mean != NULL. */
static void load_block(const nn_dataset *ds, int64_t first, int64_t count, const double *mean,
                       int64_t *idx, float *x, double *out)
{
    int64_t f = ds->sample_size;
    for (int64_t i = 0; i < count; i++)
        idx[i] = first + i;
    nni_dataset_gather_x(ds, idx, count, x);
    for (int64_t i = 0; i < count * f; i++)
        out[i] = x[i] - (mean ? mean[i % f] : 0);
}

static nn_status eigen(double *cov, int n, double *values, nn_error *err)
{
    int info = 0, lwork = -1, liwork = -1, iwork_size = 0;
    double work_size = 0;
    dsyevd_("V", "U", &n, cov, &n, values, &work_size, &lwork, &iwork_size, &liwork, &info, 1,
            1);
    lwork = (int)work_size;
    liwork = iwork_size;
    double *work = malloc((size_t)lwork * sizeof *work);
    int *iwork = malloc((size_t)liwork * sizeof *iwork);
    if (!work || !iwork) {
        free(work);
        free(iwork);
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    dsyevd_("V", "U", &n, cov, &n, values, work, &lwork, iwork, &liwork, &info, 1, 1);
    free(work);
    free(iwork);
    if (info != 0)
        return nn_fail(err, NN_ERR_NUMERIC, "the eigensolver (dsyevd) failed: info %d", info);
    return NN_OK;
}

nn_status nni_pca_fit(const nn_dataset *ds, int64_t first, int64_t end, int k,
                      const nn_comm *comm, nni_pca *p, nn_error *err)
{
    memset(p, 0, sizeof *p);
    const int64_t f = ds->sample_size, n = end - first;
    if (k < 1 || k > f)
        return nn_fail(err, NN_ERR_CONFIG, "--components %d: the data have %lld features", k,
                       (long long)f);
    if (n < 2)
        return nn_fail(err, NN_ERR_CONFIG, "PCA needs at least 2 rows, not %lld", (long long)n);
    if (f > 20000)
        return nn_fail(err, NN_ERR_CONFIG, "PCA of %lld features: the covariance would not fit",
                       (long long)f);
    p->features = f;
    p->rows = n;
    p->components = k;
    p->mean = calloc((size_t)f, sizeof *p->mean);
    p->weight = malloc((size_t)(k * f) * sizeof *p->weight);
    p->bias = malloc((size_t)k * sizeof *p->bias);
    p->variance = malloc((size_t)k * sizeof *p->variance);
    double *cov = calloc((size_t)(f * f), sizeof *cov);
    double *values = malloc((size_t)f * sizeof *values);
    double *block = malloc((size_t)(PCA_BLOCK * f) * sizeof *block);
    float *x = malloc((size_t)(PCA_BLOCK * f) * sizeof *x);
    int64_t *idx = malloc(PCA_BLOCK * sizeof *idx);
    nn_status st = p->mean && p->weight && p->bias && p->variance && cov && values && block &&
                           x && idx
                       ? NN_OK : nn_fail(err, NN_ERR_OTHER, "out of memory");
    int64_t mine_first = 0, mine = 0;
    nn_comm_share(comm, n, &mine_first, &mine);
    mine_first += first;
    for (int64_t r = 0; !st && r < mine; r += PCA_BLOCK) {
        int64_t count = mine - r < PCA_BLOCK ? mine - r : PCA_BLOCK;
        load_block(ds, mine_first + r, count, NULL, idx, x, block);
        for (int64_t i = 0; i < count * f; i++)
            p->mean[i % f] += block[i];
    }
    if (!st) {
        nn_comm_sum_doubles(comm, p->mean, f);
        for (int64_t j = 0; j < f; j++)
            p->mean[j] /= (double)n;
    }
    for (int64_t r = 0; !st && r < mine; r += PCA_BLOCK) {
        int64_t count = mine - r < PCA_BLOCK ? mine - r : PCA_BLOCK;
        load_block(ds, mine_first + r, count, p->mean, idx, x, block);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)f, (int)count, 1.0, block,
                    (int)f, 1.0, cov, (int)f);
    }
    if (!st) {
        nn_comm_sum_doubles(comm, cov, f * f);
        /* Row-major upper triangle = column-major lower: mirror it whole for dsyevd. */
        for (int64_t i = 0; i < f; i++)
            for (int64_t j = 0; j < i; j++)
                cov[i * f + j] = cov[j * f + i];
        for (int64_t i = 0; i < f * f; i++)
            cov[i] /= (double)(n - 1);
        for (int64_t j = 0; j < f; j++)
            p->total_variance += cov[j * f + j];
        st = eigen(cov, (int)f, values, err);
    }
    /* dsyevd: eigenvalues ascending, eigenvector j contiguous at cov + j f. */
    for (int c = 0; !st && c < k; c++) {
        const double *v = cov + (f - 1 - c) * f;
        int64_t largest = 0;
        for (int64_t j = 1; j < f; j++)
            if (fabs(v[j]) > fabs(v[largest]))
                largest = j;
        double sign = v[largest] < 0 ? -1 : 1, b = 0;
        for (int64_t j = 0; j < f; j++) {
            p->weight[c * f + j] = (float)(sign * v[j]);
            b -= sign * v[j] * p->mean[j];
        }
        p->bias[c] = (float)b;
        p->variance[c] = values[f - 1 - c] > 0 ? values[f - 1 - c] : 0;
    }
    free(cov);
    free(values);
    free(block);
    free(x);
    free(idx);
    if (st)
        nni_pca_free(p);
    return st;
}

static herr_t write_floats(hid_t file, const char *name, int ndim, const hsize_t *dims,
                           hid_t mem_type, const void *data)
{
    hid_t space = H5Screate_simple(ndim, dims, NULL);
    hid_t d = space < 0 ? -1 : H5Dcreate2(file, name, mem_type == H5T_NATIVE_FLOAT
                                                          ? H5T_IEEE_F32LE : H5T_IEEE_F64LE,
                                          space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t s = d < 0 ? -1 : H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    nni_h5_close(&d);
    nni_h5_close(&space);
    return s;
}

nn_status nni_pca_write(const char *path, const nni_pca *p, nn_error *err)
{
    double *ratio = malloc((size_t)p->components * sizeof *ratio);
    if (!ratio)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    for (int c = 0; c < p->components; c++)
        ratio[c] = p->total_variance > 0 ? p->variance[c] / p->total_variance : 0;
    nni_atomic_file target;
    nn_status st = nni_atomic_begin(&target, path, err);
    if (st) {
        free(ratio);
        return st;
    }
    nni_h5_quiet quiet = nni_h5_quiet_begin();
    hid_t file = H5Fcreate(target.tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t wdims[2] = {(hsize_t)p->components, (hsize_t)p->features};
    hsize_t kdim = (hsize_t)p->components, fdim = (hsize_t)p->features;
    herr_t s = file < 0 ? -1 : 0;
    if (s >= 0)
        s = write_floats(file, "weight", 2, wdims, H5T_NATIVE_FLOAT, p->weight);
    if (s >= 0)
        s = write_floats(file, "bias", 1, &kdim, H5T_NATIVE_FLOAT, p->bias);
    if (s >= 0)
        s = write_floats(file, "mean", 1, &fdim, H5T_NATIVE_DOUBLE, p->mean);
    if (s >= 0)
        s = write_floats(file, "explained_variance", 1, &kdim, H5T_NATIVE_DOUBLE, p->variance);
    if (s >= 0)
        s = write_floats(file, "explained_variance_ratio", 1, &kdim, H5T_NATIVE_DOUBLE, ratio);
    if (file >= 0 && H5Fclose(file) < 0)
        s = -1;
    nni_h5_quiet_end(quiet);
    free(ratio);
    if (s < 0) {
        nni_atomic_abort(&target);
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot write the components", path);
    }
    return nni_atomic_commit(&target, err);
}
