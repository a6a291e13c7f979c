/* Loss term table entries (src/train/loss.c). */
#ifndef NN_LOSS_INTERNAL_H
#define NN_LOSS_INTERNAL_H

#include "nn/loss.h"
#include "nn/model.h"

#define NN_MAX_LOSS_TERMS 8

typedef struct loss_term loss_term;

typedef struct loss_kind {
    const char *name;
    const char *const *keys;
    nn_status (*parse)(loss_term *term, const nn_cfg *cfg, nn_error *err); /* cfg may be NULL */
    /* Sum over rows of the per-sample loss; writes scale * gradient into dout (adding when
     * accumulate) unless dout is NULL. NULL for parameter penalties. */
    double (*eval)(const loss_term *term, const float *out, const nn_targets *targets,
                   int64_t rows, float scale, float *dout, int accumulate);
    /* Elementwise losses served by pointwise_eval: the loss of one output x against its
     * target y (column c), and d loss / d x in *grad. */
    double (*pointwise)(const loss_term *term, float x, float y, int64_t c, double *grad);
    int sum_over_outputs; /* per-sample loss = sum over outputs (else their mean) */
    /* Parameter penalties: adds scale * d penalty / d w to the model's gradients and returns
     * the penalty. */
    double (*penalty)(const loss_term *term, nn_model *model, float scale);
    int classification;
    const char *help;
} loss_kind;

struct loss_term {
    const loss_kind *kind;
    double weight;
    int64_t out_size;
    int has_labels;
    int64_t target_width;
    int num_classes;
    float param[4];
    int flag[2];
    float *vec;      /* class weights or pos_weight (NULL: none); owned by the term */
    int64_t vec_len;
    const nn_cfg *node; /* the term's config, for errors during the build only */
};

struct nn_loss {
    int n_terms;
    loss_term terms[NN_MAX_LOSS_TERMS];
    int64_t out_size;
    int has_labels;
    int64_t target_width;
    int num_classes;
};

#endif
