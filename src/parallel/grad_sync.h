/* Gradient summation in buckets, overlapped with backward.
 *
 * The gradient buffer is cut into buckets of whole layers of about `bucket_bytes` each
 * (0: a quarter of the model, at most 4 MiB; a layer larger than the size is a bucket of its
 * own, cut at 16 MiB), from its end (the output layers, whose gradients backward produces
 * first) to its start. As soon as backward has finished every layer of a bucket, that
 * bucket's sum starts, so communication runs while earlier layers are still computing.
 * Bucket boundaries do not depend on the overlap switch, so results with overlap on and off
 * are identical. */
#ifndef NN_PARALLEL_GRAD_SYNC_H
#define NN_PARALLEL_GRAD_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "model/model_internal.h"
#include "nn/parallel.h"

typedef struct nni_grad_sync nni_grad_sync;

/* The step's scalars. They are summed over the ranks with the last gradient bucket, in the
 * room after the gradients (NN_GRAD_ROOM), instead of in a second collective; every rank
 * gets the same sums, so all agree when the loss is not finite or one rank was asked to
 * stop. Floats, as the gradients they travel with. */
typedef struct nni_step_scalars {
    float loss_sum;       /* per-sample losses of this rank's rows (summed: the group's) */
    float correct;        /* rows classified correctly */
    float stop_requested; /* 1 on a rank asked to stop (summed: > 0 when any rank was) */
    float read_failed;    /* 1 on a rank that could not read its rows (streamed data) */
} nni_step_scalars;
_Static_assert(sizeof(nni_step_scalars) <= NN_GRAD_ROOM * sizeof(float),
               "the step scalars must fit in the room after the gradients");

/* How the buckets are summed: through shared memory when the group's ranks share a node
 * (else MPI_Iallreduce), or always with MPI_Iallreduce. */
typedef enum nni_grad_transport {
    NN_GRAD_TRANSPORT_AUTO,
    NN_GRAD_TRANSPORT_MPI,
} nni_grad_transport;

typedef struct nni_grad_sync_stats {
    double wait_seconds;  /* time spent in the final wait, summing what was left (and,
                           * with a shared optimizer update, exchanging the ranges) */
    int64_t steps;
} nni_grad_sync_stats;

/* Plans the buckets over the model's gradients (and the room after them) and, with node
 * shared memory, maps the buffers the ranks sum in. The model is only read: the caller
 * points the model's gradients at nni_grad_sync_gradients once the sync is set up. */
nn_status nni_grad_sync_create(const nn_comm *comm, const nn_model *model, int64_t bucket_bytes,
                               int overlap, nni_grad_transport transport, double timeout_seconds,
                               nni_grad_sync **out, nn_error *err);
/* The caller first gives the model its own gradient buffer back (nni_model_use_grads). */
void nni_grad_sync_free(nni_grad_sync *sync);
/* Where backward must write this rank's gradients (n_param_floats + NN_GRAD_ROOM floats):
 * the model's own buffer, or this rank's buffer in the node's shared mapping, where the
 * ranks sum them without copies. Final after nni_grad_sync_sum_own_range_only. */
float *nni_grad_sync_gradients(const nni_grad_sync *sync);
/* What sums the buckets, for the start-up message: "node shared memory" or
 * "MPI_Iallreduce (<why not shared memory>)". */
const char *nni_grad_sync_transport(const nni_grad_sync *sync);
int nni_grad_sync_bucket_count(const nni_grad_sync *sync);
/* Bucket b covers gradient offsets [*start, *end); bucket 0 is the last of the buffer. */
void nni_grad_sync_bucket_range(const nni_grad_sync *sync, int b, int64_t *start, int64_t *end);
/* Before the backward pass whose gradients are summed, with this rank's step scalars. */
void nni_grad_sync_begin(nni_grad_sync *sync, const nni_step_scalars *mine);
/* After backward has finished `layer` (called for every layer, in backward order): starts
 * the sum of every bucket whose layers are all done. */
void nni_grad_sync_layer_done(nni_grad_sync *sync, const nn_layer *layer);
/* Starts what is left and waits for every bucket; *summed receives the group's scalars.
 * NN_ERR_OTHER if the watchdog fired (the job is aborted before this returns in that
 * case). */
nn_status nni_grad_sync_finish(nni_grad_sync *sync, nni_step_scalars *summed, nn_error *err);
nni_grad_sync_stats nni_grad_sync_get_stats(const nni_grad_sync *sync);

/* ---- The optimizer update, shared by the ranks of a node -----------------------------
 * With node shared memory, the optimizer's `slots` buffers (each parallel to the parameters)
 * can live in the mapping too, and each rank then updates only its own range of the
 * parameters and slots: the update, which every rank would otherwise repeat in full, costs
 * each 1/size of it, and the ranks exchange their updated ranges. The slots in the mapping
 * start as slot_data[k] (the same on every rank); `whole_tensors`: ranges hold whole tensors
 * (updates that read tensor norms). The optimizer is to use nni_grad_sync_update_slot(k) for
 * its slots. Without node shared memory nothing changes and the range is every parameter.
 * `node_memory`: the caller knows the group's ranks share a node's memory though the sums
 * go through MPI (train.reproducible: bitwise makes its own exact sums there). */
nn_status nni_grad_sync_share_update(nni_grad_sync *sync, int slots, float *const *slot_data,
                                     int whole_tensors, int node_memory, nn_error *err);
/* Collective, after nni_grad_sync_share_update, for a caller that reads the summed gradients
 * only in its own update range (no clipping, no gradient norms): with a shared update, each
 * rank then sums only its range, and nothing but the step scalars after the gradients is
 * summed for every rank. Otherwise nothing changes. */
nn_status nni_grad_sync_sum_own_range_only(nni_grad_sync *sync, nn_error *err);
/* After a finished step that no rank goes past (a failure every rank reports): makes every
 * summed gradient readable in nni_grad_sync_gradients, whatever nni_grad_sync_sum_own_range_only
 * left out. Every rank calls it. */
void nni_grad_sync_gather(nni_grad_sync *sync);
/* For the start-up message: how the update is split, or why it is not. */
void nni_grad_sync_describe_update(const nni_grad_sync *sync, char *text, size_t size);
/* Slot k in the mapping, or NULL when the update is not shared. */
float *nni_grad_sync_update_slot(const nni_grad_sync *sync, int k);
/* Around the optimizer step, on every rank of the group, right after nni_grad_sync_finish:
 * begin gives this rank's range of parameter offsets (every parameter when the update is
 * not shared); end hands the range to the other ranks and takes theirs into
 * model->param_data, which every rank keeps whole. */
void nni_grad_sync_update_begin(nni_grad_sync *sync, int64_t *first, int64_t *end);
void nni_grad_sync_update_end(nni_grad_sync *sync);

#endif
