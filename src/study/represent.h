/* Layer representations: what every named layer of a checkpoint's model outputs (in
 * evaluation mode) for a range of rows of a dataset split. The study commands (extract,
 * cka, probe, ensemble) all start from here. */
#ifndef NN_STUDY_REPRESENT_H
#define NN_STUDY_REPRESENT_H

#include <stdint.h>

#include "nn/error.h"
#include "nn/layer.h"
#include "nn/parallel.h"

/* What to extract. layers: "all" (every layer after the input), NULL (the model's output
 * layer) or a comma-separated list of layer names ("input" names the model input). Rows
 * [row_first, row_end) of the split; row_end -1 means its last row. */
typedef struct nni_reps_request {
    const char *checkpoint, *split, *data_path;
    const char *layers;
    int64_t row_first, row_end;
} nni_reps_request;

typedef struct nni_reps {
    int n_layers;
    char (*names)[NN_NAME_MAX];
    int64_t *width;        /* features per sample of each layer */
    float **values;        /* per layer: rows x width, row-major */
    int64_t rows;
    int64_t row_first;     /* first row of the split held */
    int32_t *labels;       /* rows, or NULL for value targets */
    int num_classes;
    int output_index;      /* which of the layers is the model's output, or -1 */
    int64_t input_size;    /* values per sample of the model input */
    char data_path[512];   /* the dataset file the rows came from */
} nni_reps;

/* Runs the model over the rows, each rank its share (nn_comm_share), and gives every rank
 * all rows: the values do not depend on the number of ranks. An unknown layer name fails
 * with the valid names and the closest one; an empty row range fails. */
nn_status nni_reps_extract(const nni_reps_request *req, const nn_comm *comm, nni_reps *out,
                           nn_error *err);
void nni_reps_free(nni_reps *reps);

/* Representations of two checkpoints can be compared only on the same samples: the same
 * dataset file, rows and input size. */
nn_status nni_reps_check_same_samples(const nni_reps *a, const char *name_a, const nni_reps *b,
                                      const char *name_b, nn_error *err);

/* "A:B" (either side may be empty: from the first row, to the last) into [first, end);
 * NULL text: the whole split (end -1). */
nn_status nni_parse_rows(const char *text, int64_t *first, int64_t *end, nn_error *err);

#endif
