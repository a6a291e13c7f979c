/* The study commands' output directory and CSV tables. Each file is written whole
 * (core/files.h), so an interrupted command leaves complete files or none. */
#include "study/output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/files.h"

nn_status nni_study_check_absent(const char *path, nn_error *err)
{
    struct stat info;
    if (stat(path, &info) == 0)
        return nn_fail(err, NN_ERR_CONFIG, "%s exists: choose a new output path (earlier "
                       "results are never overwritten)", path);
    return NN_OK;
}

nn_status nni_study_new_dir(const char *path, nn_error *err)
{
    if (nni_study_check_absent(path, err))
        return err->status;
    if (nni_make_dirs(path) != 0)
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot create the directory: %s", path,
                       strerror(errno));
    return NN_OK;
}

nn_status nni_study_path(char *out, size_t size, const char *dir, const char *name,
                         nn_error *err)
{
    if ((size_t)snprintf(out, size, "%s/%s", dir, name) >= size)
        return nn_fail(err, NN_ERR_CONFIG, "%s: path too long", dir);
    return NN_OK;
}

nn_status nni_study_write_matrix_csv(const char *path, const char *corner, const double *values,
                                     int rows, int cols, const char *const *row_names,
                                     const char *const *col_names, nn_error *err)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    fprintf(f, "%s", corner);
    for (int c = 0; c < cols; c++)
        fprintf(f, ",%s", col_names[c]);
    fprintf(f, "\n");
    for (int r = 0; r < rows; r++) {
        fprintf(f, "%s", row_names[r]);
        for (int c = 0; c < cols; c++)
            fprintf(f, ",%.8g", values[r * cols + c]);
        fprintf(f, "\n");
    }
    fclose(f);
    nn_status st = nni_write_file_atomic(path, text, size, err);
    free(text);
    return st;
}
