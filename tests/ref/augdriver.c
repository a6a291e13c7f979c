/* Augmentation driver for the reference checks: applies `train.augment` to a batch prepared
 * by a NumPy/PyTorch script and writes the result back.
 *
 *   augdriver AUGMENT_YAML IN.h5 OUT.h5 EPOCH SEED
 *
 * AUGMENT_YAML is the augment map's text; IN.h5 holds /x (N x C x H x W floats), sample i
 * being global sample i; OUT.h5 gets /x augmented as training would at EPOCH (from 0). */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>

#include "data/augment.h"
#include "nn/config.h"

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: augdriver AUGMENT_YAML IN.h5 OUT.h5 EPOCH SEED\n");
        return 2;
    }
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    if (nn_cfg_parse_value(argv[1], "augment", &cfg, &err)) {
        fprintf(stderr, "augdriver: %s\n", err.msg);
        return 2;
    }
    hid_t in = H5Fopen(argv[2], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (in < 0) {
        fprintf(stderr, "augdriver: cannot open %s\n", argv[2]);
        return 1;
    }
    hid_t d = H5Dopen2(in, "x", H5P_DEFAULT);
    hid_t s = H5Dget_space(d);
    hsize_t dims[4] = {0};
    if (H5Sget_simple_extent_ndims(s) != 4) {
        fprintf(stderr, "augdriver: /x must be N x C x H x W\n");
        return 1;
    }
    H5Sget_simple_extent_dims(s, dims, NULL);
    const int64_t n = (int64_t)dims[0], size = (int64_t)(dims[1] * dims[2] * dims[3]);
    float *x = malloc((size_t)(n * size) * sizeof *x);
    int64_t *ids = malloc((size_t)n * sizeof *ids);
    H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
    for (int64_t i = 0; i < n; i++)
        ids[i] = i;
    nni_augment aug;
    if (nni_augment_parse(cfg, nn_shape_3d((int64_t)dims[1], (int64_t)dims[2], (int64_t)dims[3]),
                          &aug, &err)) {
        fprintf(stderr, "augdriver: %s\n", err.msg);
        return 2;
    }
    nni_augment_batch(&aug, x, n, ids, strtoull(argv[5], NULL, 10), (uint32_t)atoi(argv[4]));
    hid_t out = H5Fcreate(argv[3], H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t w = H5Dcreate2(out, "x", H5T_NATIVE_FLOAT, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(w, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
    H5Dclose(w);
    H5Fclose(out);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(in);
    nni_augment_free(&aug);
    nn_cfg_free(cfg);
    free(x);
    free(ids);
    return 0;
}
