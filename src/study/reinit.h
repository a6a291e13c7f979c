/* Critical and robust layers (Zhang, Bengio and Singer, "Are all layers created equal?",
 * JMLR 2022): the accuracy of a trained model with one layer at a time put back to its
 * initial weights (epoch-000.h5 of a run with train.checkpoint.keep_initial) or to a fresh
 * random draw, for the final weights and for the weights of chosen epochs. A layer whose
 * reset costs little accuracy is robust, the others critical. */
#ifndef NNI_STUDY_REINIT_H
#define NNI_STUDY_REINIT_H

#include "nn/error.h"
#include "nn/parallel.h"

typedef struct nni_reinit_plan {
    const char *run_dir;
    const char *split;     /* the split evaluated (default test) */
    const char *data_path; /* NULL: the data file the run's config names */
    int to_random;         /* reset to a fresh draw (seed + 1) instead of epoch-000.h5 */
    const char *const *layers; /* NULL: every layer with parameters */
    int n_layers;
    const int *epochs;     /* checkpoints epoch-NNN.h5 besides last.h5 (n_epochs may be 0) */
    int n_epochs;
} nni_reinit_plan;

/* accuracy and loss: [checkpoint][row], checkpoints in the order given then the final
 * weights (last.h5); rows: no reset, one row per layer, every layer at once. */
typedef struct nni_reinit_result {
    int n_layers, n_checkpoints;
    char (*layer_names)[64];
    int *checkpoint_epochs;   /* -1 for the final weights */
    double *accuracy, *loss;
    int64_t samples;
} nni_reinit_result;

/* Every rank of comm takes its share of the evaluations; every rank gets the whole table. */
nn_status nni_reinit_run(const nni_reinit_plan *plan, const nn_comm *comm,
                         nni_reinit_result *out, nn_error *err);
void nni_reinit_result_free(nni_reinit_result *result);

/* Index of a (checkpoint, row) cell; row 0 no reset, 1 + l layer l, n_layers + 1 all. */
static inline int nni_reinit_cell(const nni_reinit_result *r, int checkpoint, int row)
{
    return checkpoint * (r->n_layers + 2) + row;
}

#endif
