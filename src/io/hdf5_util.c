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
