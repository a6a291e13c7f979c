/* The model: a DAG of named layers built from the `model:` section of the config,
 * topologically sorted, shapes inferred and every buffer planned at build time.
 *
 * All trainable parameters live in ONE float buffer and all their gradients in another,
 * with a table of named views (layer, name, shape, offset, flags). The optimizer, gradient
 * allreduce buckets, clipping, NaN checks and checkpoints iterate over that table and never
 * look at layer types. Non-trained state (batchnorm running statistics) has its own buffer. */
#ifndef NN_MODEL_H
#define NN_MODEL_H

#include <stdint.h>
#include <stdio.h>

#include "nn/config.h"
#include "nn/error.h"
#include "nn/init.h"
#include "nn/layer.h"
#include "nn/tensor.h"

typedef struct nn_param {
    char name[2 * NN_NAME_MAX]; /* "<layer>/<param>", as in checkpoints */
    char param_name[32];
    nn_layer *layer;
    int ndim;
    int64_t dims[NN_MAX_DIMS];
    int64_t size;
    int64_t offset;             /* into params/grads, or into state for NN_PARAM_STATE */
    int64_t fan_in, fan_out;
    unsigned flags;
    int frozen;                 /* not updated (layer trainable: false, or train-only-norm) */
    nn_init init;
} nn_param;

struct nn_model {
    nn_shape input_shape;
    int64_t capacity;           /* rows planned per forward/backward */
    uint64_t seed;

    int n_layers;
    nn_layer **layers;          /* topological order; layers[0] is the input */
    nn_layer *output;

    int n_params;               /* views, trained and state alike */
    nn_param *params;
    int64_t n_param_floats;     /* trained parameters */
    int64_t n_state_floats;
    float *param_data;
    float *grad_data;           /* where backward writes: own_grad_data, or memory a
                                 * data-parallel trainer placed it in (nni_model_use_grads) */
    float *own_grad_data;
    float *state_data;

    float *arena;               /* activations and their gradients, one allocation */
    int64_t arena_floats;
    float *workspace;           /* scratch shared by all layers */
    int64_t workspace_floats;

    int unsynced_state;         /* state computed per rank (batchnorm without sync) */
    nn_init default_init;       /* model.init */
    int train_only_norm;        /* model.train_only_batchnorm */
    int bf16;                   /* train.precision: bf16: dense and conv2d products in bf16 */
    int direct_conv;            /* train.winograd: false: 3x3 convolutions without Winograd */
    nn_cfg **owned_cfgs;        /* config nodes made during the build (implicit layers) */
    int n_owned_cfgs;
};
typedef struct nn_model nn_model;

/* Build from the `model:` map; capacity = rows per step on this rank. Initializes the
 * parameters from seed. Errors name the config location and the layer. */
enum {
    NN_MODEL_INPUT_GRAD = 1 << 0, /* also compute d loss / d input (gradient checks, saliency) */
};
nn_status nn_model_build(const nn_cfg *model_cfg, int64_t capacity, uint64_t seed,
                         unsigned flags, nn_model **out, nn_error *err);
void nn_model_free(nn_model *model);
/* Runs the products of the dense and conv2d layers in bf16 with float sums from now on
 * (train.precision: bf16), for up to `threads` threads. A configuration error when the CPU
 * lacks AVX512_BF16 (unless NN_BF16=emulated chooses the slow emulated path). */
nn_status nn_model_use_bf16(nn_model *model, int threads, nn_error *err);

/* Input rows go to nn_model_input(model); the output is model->output->out. */
float *nn_model_input(nn_model *model);
int64_t nn_model_input_size(const nn_model *model);
int64_t nn_model_output_size(const nn_model *model);
/* The steps of the output when it is a sequence over the input's steps (output (T, K) for an
 * input (T, F) or (T)), so that padded input steps mask output steps; else 0. */
int64_t nn_model_output_steps(const nn_model *model);

void nn_model_forward(nn_model *model, const nn_pass *pass);
/* Expects model->output->dout filled by the loss. */
void nn_model_backward(nn_model *model, const nn_pass *pass);
/* Backward of model->layers[i] alone: nn_model_backward is this for i from n_layers - 1
 * down to 1. A caller that acts as each layer finishes (a data-parallel trainer starting
 * gradient sums early) runs the loop itself. */
void nn_model_backward_layer(nn_model *model, int i, const nn_pass *pass);

/* Views. */
nn_param *nn_model_find_param(nn_model *model, const char *name);
float *nn_model_param_data(const nn_model *model, const nn_param *p);
float *nn_model_param_grad(const nn_model *model, const nn_param *p);
int64_t nn_model_count_trainable(const nn_model *model);
int64_t nn_model_count_params(const nn_model *model); /* trained and frozen, not state */

/* Keras-style summary: layers, output shapes, parameters, FLOPs per sample, activation
 * memory. */
void nn_model_summary(const nn_model *model, FILE *out);
int64_t nn_model_flops_per_sample(const nn_model *model);

#endif
