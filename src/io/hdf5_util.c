#include "io/hdf5_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/files.h"

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

hid_t nni_h5_memory_access(hid_t base)
{
    hid_t fapl = base == H5P_DEFAULT ? H5Pcreate(H5P_FILE_ACCESS) : H5Pcopy(base);
    if (fapl >= 0)
        H5Pset_fapl_core(fapl, (size_t)1 << 20, 0);
    return fapl;
}

/* HDF5's metadata checksum (Jenkins' lookup3), exported by the library but not declared in
 * its public headers. */
uint32_t H5_checksum_metadata(const void *data, size_t len, uint32_t initval);

/* HDF5 1.10's file images of version 2 and 3 superblocks (the ones with checksums) clear the
 * superblock's "open for writing" flags without updating its checksum, so the image would
 * not open; the checksum is recomputed here. Layout: signature (8), version, sizes of
 * offsets and lengths, flags, four addresses, checksum. */
static void fix_superblock_checksum(uint8_t *image, size_t size)
{
    if (size < 12 || (image[8] != 2 && image[8] != 3))
        return;
    size_t covered = 12 + 4 * (size_t)image[9];
    if (covered + 4 > size)
        return;
    uint32_t sum = H5_checksum_metadata(image, covered, 0);
    for (int i = 0; i < 4; i++)
        image[covered + (size_t)i] = (uint8_t)(sum >> (8 * i));
}

nn_status nni_h5_write_image(hid_t *file, const char *path, nn_error *err)
{
    void *image = NULL;
    ssize_t size = -1;
    if (*file >= 0 && H5Fflush(*file, H5F_SCOPE_GLOBAL) >= 0 &&
        (size = H5Fget_file_image(*file, NULL, 0)) > 0 && (image = malloc((size_t)size)) &&
        H5Fget_file_image(*file, image, (size_t)size) != size)
        size = -1;
    nni_h5_detail detail = nni_h5_last_error();
    if (*file >= 0 && H5Fclose(*file) < 0)
        size = -1;
    *file = H5I_INVALID_HID;
    nn_status st;
    if (size <= 0 || !image) {
        st = nn_fail(err, NN_ERR_OTHER, "%s: cannot build the file in memory (%s)", path,
                     image ? detail.text : "out of memory");
    } else {
        fix_superblock_checksum(image, (size_t)size);
        st = nni_write_file_atomic(path, image, (size_t)size, err);
    }
    free(image);
    return st;
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
        /* A virtual dataset stores nothing itself (its sources are checked apart). */
        ok = (cls != H5T_INTEGER && cls != H5T_FLOAT) || points <= 0 ||
             H5Pget_layout(dcpl) == H5D_VIRTUAL ||
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
