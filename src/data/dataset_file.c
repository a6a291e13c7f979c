/* Opening HDF5 dataset files: the file access properties every reader and writer uses, and
 * opening for reading with one clear message for each way it fails. HDF5's own error stack
 * is silenced by the callers (nni_h5_quiet_begin), which report one nn_error instead. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/dataset_internal.h"
#include "io/hdf5_util.h"

void nni_dataset_type_name(hid_t type, char *buf, size_t size)
{
    size_t bits = H5Tget_size(type) * 8;
    switch (H5Tget_class(type)) {
    case H5T_INTEGER:
        snprintf(buf, size, "%s%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int", bits);
        break;
    case H5T_FLOAT: snprintf(buf, size, "float%zu", bits); break;
    case H5T_STRING: snprintf(buf, size, "string"); break;
    case H5T_BITFIELD: snprintf(buf, size, "bitfield"); break;
    case H5T_OPAQUE: snprintf(buf, size, "opaque"); break;
    case H5T_COMPOUND: snprintf(buf, size, "compound"); break;
    case H5T_REFERENCE: snprintf(buf, size, "reference"); break;
    case H5T_ENUM: snprintf(buf, size, "enum (h5py stores bool as enum)"); break;
    case H5T_VLEN: snprintf(buf, size, "variable-length sequence"); break;
    case H5T_ARRAY: snprintf(buf, size, "array"); break;
    default: snprintf(buf, size, "unknown"); break;
    }
}

/* Strong close: no stray handle keeps a file open after H5Fclose, so a rename right after it
 * is safe. File locking is kept, but ignored where the file system refuses it (Lustre and
 * some NFS mounts), which would otherwise make every open fail on a cluster. */
hid_t nni_dataset_file_access(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return fapl;
    H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
#if (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7) ||                      \
    H5_VERSION_GE(1, 12, 1)
    H5Pset_file_locking(fapl, 1, 1);
#endif
    return fapl;
}

nn_status nni_dataset_open_for_reading(const char *path, hid_t *file, nn_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return nn_fail(err, NN_ERR_DATA, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return nn_fail(err, NN_ERR_DATA, "%s: is a directory, not an HDF5 file", path);
    if (access(path, R_OK) != 0)
        return nn_fail(err, NN_ERR_DATA, "%s: %s", path, strerror(errno));
    hid_t fapl = nni_dataset_file_access();
    *file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    nni_h5_detail detail = nni_h5_last_error();
    nni_h5_close(&fapl);
    if (*file >= 0)
        return NN_OK;
    if (H5Fis_hdf5(path) <= 0)
        return nn_fail(err, NN_ERR_DATA, "%s: not an HDF5 file", path);
    return nn_fail(err, NN_ERR_DATA, "%s: cannot open (%s)", path, detail.text);
}
