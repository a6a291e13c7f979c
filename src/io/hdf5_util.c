#include "io/hdf5_util.h"

#include <stdio.h>

nni_h5_quiet nni_h5_quiet_begin(void)
{
    nni_h5_quiet saved = {0};
    H5Eget_auto2(H5E_DEFAULT, &saved.func, &saved.data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return saved;
}

void nni_h5_quiet_end(nni_h5_quiet saved)
{
    H5Eset_auto2(H5E_DEFAULT, saved.func, saved.data);
}

static herr_t innermost_error(unsigned n, const H5E_error2_t *e, void *data)
{
    nni_h5_detail *detail = data;
    if (n == 0 && e->desc)
        snprintf(detail->text, sizeof detail->text, "%s", e->desc);
    return 0;
}

nni_h5_detail nni_h5_last_error(void)
{
    nni_h5_detail detail = {"unknown HDF5 error"};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_error, &detail);
    return detail;
}

/* deflate's largest ratio is about 1032:1; other filters (checksums) add bytes. */
#define MAX_COMPRESSION_RATIO 1100

int nni_h5_dataset_stores_shape(hid_t dset)
{
    hid_t type = H5Dget_type(dset), space = H5Dget_space(dset), dcpl = H5Dget_create_plist(dset);
    int ok = 0;
    if (type >= 0 && space >= 0 && dcpl >= 0) {
        H5T_class_t cls = H5Tget_class(type);
        hssize_t points = H5Sget_simple_extent_npoints(space);
        double declared = (double)points * (double)H5Tget_size(type);
        double stored = (double)H5Dget_storage_size(dset);
        int compressed = 0;
        for (int f = 0; f < H5Pget_nfilters(dcpl); f++) {
            unsigned flags;
            size_t n_values = 0;
            compressed |= H5Pget_filter2(dcpl, (unsigned)f, &flags, &n_values, NULL, 0, NULL,
                                         NULL) != H5Z_FILTER_FLETCHER32;
        }
        ok = (cls != H5T_INTEGER && cls != H5T_FLOAT) || points <= 0 ||
             declared <= stored * (compressed ? MAX_COMPRESSION_RATIO : 1);
    }
    nni_h5_close(&dcpl);
    nni_h5_close(&space);
    nni_h5_close(&type);
    return ok;
}

long long nni_h5_values_of_rank(hid_t space, int rank, hsize_t *dims)
{
    if (space < 0 || H5Sget_simple_extent_ndims(space) != rank)
        return -1;
    if (rank == 0)
        return H5Sget_simple_extent_type(space) == H5S_SCALAR ? 1 : -1;
    if (dims)
        H5Sget_simple_extent_dims(space, dims, NULL);
    return (long long)H5Sget_simple_extent_npoints(space);
}

void nni_h5_close(hid_t *id)
{
    if (*id < 0)
        return;
    switch (H5Iget_type(*id)) {
    case H5I_FILE: H5Fclose(*id); break;
    case H5I_GROUP: H5Gclose(*id); break;
    case H5I_DATASET: H5Dclose(*id); break;
    case H5I_DATATYPE: H5Tclose(*id); break;
    case H5I_DATASPACE: H5Sclose(*id); break;
    case H5I_ATTR: H5Aclose(*id); break;
    case H5I_GENPROP_LST: H5Pclose(*id); break;
    default: break;
    }
    *id = H5I_INVALID_HID;
}
