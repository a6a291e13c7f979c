/* Loss term table entries (src/train/loss.c). */
#ifndef NN_LOSS_INTERNAL_H
#define NN_LOSS_INTERNAL_H

#include "config/catalogue.h"
#include "nn/loss.h"
#include "nn/model.h"

#define NN_MAX_LOSS_TERMS 8

typedef struct loss_term loss_term;
typedef struct formula_loss formula_loss;

/* The named parameters of every loss kind; each kind reads only those its row lists. */
typedef struct loss_settings {
    float label_smoothing; /* cross_entropy: weight of the uniform distribution in the target */
    float delta;           /* huber: where the quadratic part ends */
    float beta;            /* smooth_l1: the same, with the loss divided by it */
    float eps;             /* poisson_nll: added to the rate; gaussian_nll: variance clamp */
    int log_target;        /* kl_div: the targets are log-probabilities */
    int log_input;         /* poisson_nll: the output is log(rate) */
    int full;              /* poisson_nll, gaussian_nll: add the constant terms */
    int include_bias;      /* penalties: biases and normalization parameters too */
    int64_t classes;       /* ctc: scores per step, the blank included */
    int64_t blank;         /* ctc: the blank's class id */
    int zero_infinity;     /* ctc: impossible targets cost 0 instead of infinity */
} loss_settings;

enum { MASKS_STEPS_BY_ROW = 1, MASKS_STEPS_ITSELF = 2 };

typedef struct loss_kind {
    const char *name;
    const nni_param *params; /* its keys besides type and weight (NULL: none) */
    /* Checks the term against the model output and the targets, after its parameters are
     * read (cfg may be NULL), and reads what the parameter table leaves to it (lists). */
    nn_status (*check)(loss_term *term, const nn_cfg *cfg, nn_error *err);
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
    /* Checks a dataset's targets once, before training (NULL: any finite targets). */
    nn_status (*check_targets)(const loss_term *term, const nn_targets *targets, int64_t rows,
                               const char *where, nn_error *err);
    /* Sequence losses: decodes the first `steps` steps (<= 0: all) of one row of outputs
     * into labels (room for one per output value); returns how many (NULL: the loss does
     * not read sequences). */
    int64_t (*decode)(const loss_term *term, const float *out, int64_t steps, int32_t *labels);
    /* Whether the term can skip the padded steps of a sequence output (nn_targets.steps):
     * MASKS_STEPS_BY_ROW, the loss of a row is its eval over the valid steps' outputs (the
     * mean over them); MASKS_STEPS_ITSELF, eval reads nn_targets.steps (ctc); 0: it cannot. */
    int masks_steps;
    int classification;   /* accuracy makes sense even for float targets */
    const char *help;     /* what it computes, for --help-catalogue */
} loss_kind;

struct loss_term {
    const loss_kind *kind;
    double weight;
    int64_t out_size;
    int has_labels;
    int64_t target_width;
    int num_classes;
    loss_settings settings;
    float *vec;      /* class weights or pos_weight (NULL: none); owned by the term */
    int64_t vec_len;
    double *scratch;    /* per-sample work room planned by the check (ctc); owned */
    const nn_cfg *node; /* the term's config, for errors during the build only */
    formula_loss *formula; /* type: formula (loss_formula.c); owned by the term */
};

struct nn_loss {
    int n_terms;
    loss_term terms[NN_MAX_LOSS_TERMS];
    int64_t out_size;
    int has_labels;
    int64_t target_width;
    int num_classes;
};

/* ctc (src/train/ctc.c): the kind's check and eval, and the data check of its targets
 * (labels in range, never the blank, padding -1 only at the end, emittable in the model's
 * steps unless zero_infinity); `where` names the data in the message. */
nn_status nni_ctc_check(loss_term *t, const nn_cfg *cfg, nn_error *err);
double nni_ctc_eval(const loss_term *t, const float *out, const nn_targets *tg, int64_t rows,
                    float scale, float *dout, int accumulate);
nn_status nni_ctc_check_targets(const loss_term *t, const nn_targets *tg, int64_t rows,
                                const char *where, nn_error *err);
int64_t nni_ctc_decode(const loss_term *t, const float *out, int64_t steps, int32_t *labels);
/* The target of output c of row r: the value, or the label's one-hot entry (the label
 * itself for a single output). */
float nni_loss_target_at(const loss_term *t, const nn_targets *tg, int64_t r, int64_t c);

/* The formula term (loss_formula.c): its check (parses and compiles), evaluation and
 * release. */
nn_status nni_loss_formula_check(loss_term *t, const nn_cfg *cfg, nn_error *err);
double nni_loss_formula_eval(const loss_term *t, const float *out, const nn_targets *targets,
                             int64_t rows, float scale, float *dout, int accumulate);
void nni_loss_formula_free(loss_term *t);

/* Every loss kind's help row, in table order (for --help-catalogue). */
void nni_loss_catalogue(nni_catalogue_emit emit, void *ctx);

#endif
