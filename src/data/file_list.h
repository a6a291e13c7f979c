/* The files of a dataset (`data.path`): one HDF5 file, a list of files or a glob pattern,
 * the files holding the same layout and read as their concatenation in order (file 1's rows
 * of a split, then file 2's, ...). */
#ifndef NNI_DATA_FILE_LIST_H
#define NNI_DATA_FILE_LIST_H

#include <stdint.h>

#include "nn/config.h"
#include "nn/data.h"
#include "nn/error.h"

typedef struct nni_file_list {
    int n;
    char **paths;
    char name[512]; /* for messages and nn_dataset.path: "a.h5" or "a.h5 + 3 more files" */
} nni_file_list;

/* data.path: a string (a glob pattern when it holds *, ? or [, expanded in sorted order;
 * else one file) or a sequence of file names. A pattern that matches nothing, an empty list
 * and a non-string entry are NN_ERR_CONFIG at the key. */
nn_status nni_file_list_read(const nn_cfg *data, const char *key, nni_file_list *files,
                             nn_error *err);
/* One file (a --data flag). */
nn_status nni_file_list_single(const char *path, nni_file_list *files, nn_error *err);
void nni_file_list_free(nni_file_list *files);

/* nn_dataset_load_from over the concatenation: rows [first, first + count) of the split in
 * all files (count < 0: all of them, first 0). The files must agree on the sample shape and
 * type, scale and offset, the kind and width of the targets and the class names; the class
 * count is the largest of theirs. ds->path is files->name, ds->rows_in_file the rows of the
 * split in all files. Errors name the file and its own row. */
nn_status nni_file_list_load(const nni_file_list *files, const char *split,
                             const nn_dataset_source *src, int64_t first, int64_t count,
                             nn_dataset *ds, nn_error *err);
/* 1 when every file has the split. */
int nni_file_list_has_split(const nni_file_list *files, const char *split);

#endif
