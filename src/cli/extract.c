/* nntrain extract CHECKPOINT --layers L1,L2|all [--split S] [--rows A:B] -o REPS.h5
 * Every named layer's output (evaluation mode) for the rows, one float32 dataset
 * /layers/<name> of rows x features each, in the order asked, and /labels. */
#include <hdf5.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/files.h"
#include "io/hdf5_util.h"
#include "study/output.h"
#include "study/represent.h"

static const nni_cli_flag extract_flags[] = {
    {"layers", 0, "L1,L2|all", "the layers to extract (default: all)"},
    {"split", 0, "NAME", "the dataset split (default: test)"},
    {"rows", 0, "A:B", "rows A to B-1 of the split (default: all)"},
    {"data", 0, "FILE", "another dataset file than the one the config names"},
    {"output", 'o', "REPS.h5", "the file to write (required; must not exist)"},
    {NULL, 0, NULL, NULL},
};

const nni_cli_spec nni_extract_spec = {
    "extract", "CHECKPOINT", "the outputs of a checkpoint's layers for a set of samples", 1, 1,
    extract_flags};

static herr_t write_dataset(hid_t parent, const char *name, hid_t type, hid_t mem_type,
                            int ndim, const hsize_t *dims, const void *data)
{
    hid_t space = H5Screate_simple(ndim, dims, NULL);
    hid_t d = space < 0 ? -1 : H5Dcreate2(parent, name, type, space, H5P_DEFAULT, H5P_DEFAULT,
                                          H5P_DEFAULT);
    herr_t s = d < 0 ? -1 : H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    nni_h5_close(&d);
    nni_h5_close(&space);
    return s;
}

static nn_status write_reps(const char *path, const nni_reps *r, nn_error *err)
{
    nni_atomic_file target;
    nn_status st = nni_atomic_begin(&target, path, err);
    if (st)
        return st;
    nni_h5_quiet quiet = nni_h5_quiet_begin();
    hid_t file = H5Fcreate(target.tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t group = file < 0 ? -1 : H5Gcreate2(file, "layers", H5P_DEFAULT, H5P_DEFAULT,
                                             H5P_DEFAULT);
    herr_t s = group < 0 ? -1 : 0;
    for (int k = 0; s >= 0 && k < r->n_layers; k++) {
        hsize_t dims[2] = {(hsize_t)r->rows, (hsize_t)r->width[k]};
        s = write_dataset(group, r->names[k], H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims,
                          r->values[k]);
    }
    if (s >= 0 && r->labels) {
        hsize_t dims[1] = {(hsize_t)r->rows};
        s = write_dataset(file, "labels", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, dims, r->labels);
    }
    if (s >= 0) {
        hsize_t one = 1;
        hid_t space = H5Screate_simple(1, &one, NULL);
        hid_t a = H5Acreate2(file, "row_first", H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
        s = a < 0 ? -1 : H5Awrite(a, H5T_NATIVE_INT64, &r->row_first);
        nni_h5_close(&a);
        nni_h5_close(&space);
    }
    nni_h5_close(&group);
    if (file >= 0 && H5Fclose(file) < 0)
        s = -1;
    nni_h5_quiet_end(quiet);
    if (s < 0) {
        nni_atomic_abort(&target);
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot write the representations", path);
    }
    return nni_atomic_commit(&target, err);
}

int nni_cmd_extract(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nni_cli_args args;
    if (nni_cli_parse(argc, argv, &nni_extract_spec, &args, &err))
        return nni_cli_report(world, &err);
    if (args.help)
        return 0;
    nni_reps_request req = {
        .checkpoint = args.operands[0],
        .split = nni_cli_value(&args, "split") ? nni_cli_value(&args, "split") : "test",
        .data_path = nni_cli_value(&args, "data"),
        .layers = nni_cli_value(&args, "layers") ? nni_cli_value(&args, "layers") : "all"};
    const char *output = nni_cli_value(&args, "output");
    if (!output)
        nn_fail(&err, NN_ERR_CONFIG, "extract: -o REPS.h5 is required (see nntrain extract "
                "--help)");
    else if (!nni_study_check_absent(output, &err))
        nni_parse_rows(nni_cli_value(&args, "rows"), &req.row_first, &req.row_end, &err);
    if (err.status)
        return nni_cli_report(world, &err);
    nni_reps reps;
    if (nni_reps_extract(&req, world, &reps, &err))
        return nni_cli_report(world, &err);
    nn_status st = world->rank == 0 ? write_reps(output, &reps, &err) : NN_OK;
    if (!st && world->rank == 0) {
        printf("wrote %s: %lld rows of /%s (from row %lld)\n", output, (long long)reps.rows,
               req.split, (long long)reps.row_first);
        for (int k = 0; k < reps.n_layers; k++)
            printf("  layers/%-24s %lld x %lld\n", reps.names[k], (long long)reps.rows,
                   (long long)reps.width[k]);
    }
    nni_reps_free(&reps);
    return st ? nni_cli_report(world, &err) : 0;
}
