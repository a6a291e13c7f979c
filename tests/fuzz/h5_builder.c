/* Applying the fuzzer's operations to an HDF5 file (see h5_builder.h). */
#include "h5_builder.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_OPERATIONS 32
#define MAX_RANK 9

enum { TYPE_VLEN_STRING = 10, TYPE_FIXED_STRING, TYPE_BITFIELD, TYPE_COUNT };

static hid_t make_type(int which, fuzz_reader *in)
{
    static const hid_t *numeric[] = {
        &H5T_NATIVE_UINT8_g, &H5T_NATIVE_INT8_g,  &H5T_NATIVE_UINT16_g, &H5T_NATIVE_INT16_g,
        &H5T_NATIVE_INT32_g, &H5T_NATIVE_UINT32_g, &H5T_NATIVE_INT64_g, &H5T_NATIVE_UINT64_g,
        &H5T_NATIVE_FLOAT_g, &H5T_NATIVE_DOUBLE_g,
    };
    hid_t type;
    if (which < TYPE_VLEN_STRING) {
        H5open();
        type = H5Tcopy(*numeric[which]);
    } else if (which == TYPE_VLEN_STRING) {
        type = H5Tcopy(H5T_C_S1);
        H5Tset_size(type, H5T_VARIABLE);
        H5Tset_cset(type, H5T_CSET_UTF8);
    } else if (which == TYPE_FIXED_STRING) {
        type = H5Tcopy(H5T_C_S1);
        H5Tset_size(type, 1 + fuzz_u8(in) % 16);
        H5Tset_strpad(type, fuzz_u8(in) & 1 ? H5T_STR_SPACEPAD : H5T_STR_NULLTERM);
    } else {
        type = H5Tcopy(H5T_NATIVE_B8);
    }
    return type;
}

/* A shape: rank 0 (scalar) to MAX_RANK, small dimensions, or (when `huge` is allowed) one
 * very large first dimension. Returns the rank; *points receives the element count. */
static int make_shape(fuzz_reader *in, hsize_t *dims, int allow_huge, int *huge,
                      hsize_t *points)
{
    uint8_t shape = fuzz_u8(in);
    int rank = shape & 0x80 ? 5 + (shape & 3) + ((shape >> 2) & 1) : shape % 5;
    *huge = allow_huge && rank > 0 && (shape & 0x40);
    *points = 1;
    for (int d = 0; d < rank; d++) {
        dims[d] = fuzz_u8(in) % 9;
        if (d == 0 && *huge)
            dims[d] = (hsize_t)1 << (20 + fuzz_u8(in) % 24);
        *points *= dims[d];
    }
    return rank;
}

/* Contents from the input (zeros past its end); strings for string types. */
static void *make_contents(fuzz_reader *in, hid_t type, hsize_t points, char ***strings)
{
    *strings = NULL;
    if (H5Tis_variable_str(type) > 0) {
        char **list = calloc(points ? points : 1, sizeof *list);
        for (hsize_t i = 0; list && i < points; i++) {
            size_t len;
            const uint8_t *text = fuzz_bytes(in, fuzz_u8(in) % 24, &len);
            list[i] = calloc(len + 1, 1);
            if (list[i])
                memcpy(list[i], text, len);
        }
        *strings = list;
        return list;
    }
    size_t bytes = (size_t)points * H5Tget_size(type);
    uint8_t *buf = calloc(bytes ? bytes : 1, 1);
    size_t len;
    const uint8_t *src = fuzz_bytes(in, bytes, &len);
    if (buf)
        memcpy(buf, src, len);
    return buf;
}

static void free_contents(void *buf, char **strings, hsize_t points)
{
    for (hsize_t i = 0; strings && i < points; i++)
        free(strings[i]);
    free(buf);
}

static const char *pick(fuzz_reader *in, const char *const *words, int n)
{
    return words[fuzz_u8(in) % n];
}

static void delete_link(hid_t file, const char *name)
{
    if (H5Lexists(file, name, H5P_DEFAULT) > 0)
        H5Ldelete(file, name, H5P_DEFAULT);
}

static void add_dataset(hid_t file, const char *name, fuzz_reader *in)
{
    hid_t type = make_type(fuzz_u8(in) % TYPE_COUNT, in);
    hsize_t dims[MAX_RANK], chunk[MAX_RANK], points;
    int huge, rank = make_shape(in, dims, 1, &huge, &points);
    uint8_t layout = fuzz_u8(in) % 4; /* contiguous, chunked, + Fletcher-32, + deflate */
    hid_t space = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    if (rank && (layout || huge)) {
        for (int d = 0; d < rank; d++)
            chunk[d] = dims[d] ? (dims[d] < 8 ? dims[d] : 8) : 1;
        H5Pset_chunk(dcpl, rank, chunk);
        if (layout >= 2)
            H5Pset_fletcher32(dcpl);
        if (layout == 3)
            H5Pset_deflate(dcpl, 1);
    }
    delete_link(file, name);
    hid_t dset = H5Dcreate2(file, name, type, space, lcpl, dcpl, H5P_DEFAULT);
    if (dset >= 0 && !huge && points > 0) {
        char **strings;
        void *buf = make_contents(in, type, points, &strings);
        if (buf)
            H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
        free_contents(buf, strings, points);
    }
    if (dset >= 0)
        H5Dclose(dset);
    H5Pclose(dcpl);
    H5Pclose(lcpl);
    H5Sclose(space);
    H5Tclose(type);
}

static void add_attribute(hid_t file, const char *object, const char *name, fuzz_reader *in)
{
    hid_t obj = H5Lexists(file, object, H5P_DEFAULT) > 0 ? H5Oopen(file, object, H5P_DEFAULT)
                                                         : H5Oopen(file, "/", H5P_DEFAULT);
    hid_t type = make_type(fuzz_u8(in) % TYPE_COUNT, in);
    hsize_t dims[MAX_RANK], points;
    int huge, rank = make_shape(in, dims, 0, &huge, &points);
    if (rank > 2)
        rank = 2; /* attributes live in the object header: keep them small */
    points = 1;
    for (int d = 0; d < rank; d++)
        points *= dims[d];
    hid_t space = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    if (obj >= 0 && H5Aexists(obj, name) > 0)
        H5Adelete(obj, name);
    hid_t attr = obj >= 0 ? H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT) : -1;
    if (attr >= 0) {
        char **strings;
        void *buf = make_contents(in, type, points, &strings);
        if (buf && points > 0)
            H5Awrite(attr, type, buf);
        free_contents(buf, strings, points);
        H5Aclose(attr);
    }
    H5Sclose(space);
    H5Tclose(type);
    if (obj >= 0)
        H5Oclose(obj);
}

static void add_group(hid_t file, const char *name)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    delete_link(file, name);
    hid_t group = H5Gcreate2(file, name, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (group >= 0)
        H5Gclose(group);
    H5Pclose(lcpl);
}

void fuzz_h5_apply(const char *path, fuzz_reader *in, const fuzz_h5_vocabulary *words)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = access(path, F_OK) == 0 ? H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT)
                                         : H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT,
                                                     H5P_DEFAULT);
    if (file < 0)
        abort();
    for (int op = 0; op < MAX_OPERATIONS && in->size > 0; op++) {
        const char *object = pick(in, words->objects, words->n_objects);
        switch (fuzz_u8(in) % 4) {
        case 0: delete_link(file, object); break;
        case 1: add_dataset(file, object, in); break;
        case 2: add_attribute(file, object, pick(in, words->attributes, words->n_attributes), in);
                break;
        default: add_group(file, object); break;
        }
    }
    H5Fclose(file);
}
