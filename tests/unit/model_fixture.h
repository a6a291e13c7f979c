/* Helpers for tests that build small models from YAML text and check their gradients. */
#ifndef NN_TEST_MODEL_FIXTURE_H
#define NN_TEST_MODEL_FIXTURE_H

#include <stddef.h>

#include "config/catalogue.h"
#include "nn/model.h"
#include "nn/optim.h"

/* Builds `model:` from YAML text (the whole model map), with input gradients enabled;
 * fails the test with the error message when the build fails. */
nn_model *fixture_model(const char *model_yaml, int64_t batch, uint64_t seed);

/* Builds an optimizer for `model` from YAML text (the optimizer map); prints the error and
 * returns NULL when the build fails. */
nn_optim *fixture_optim(const char *optim_yaml, const nn_model *model);

/* Checks d(sum(out * r))/d(input) and /d(every trainable parameter) against central
 * differences for a random input and a random r. Returns 1 when all agree; prints the
 * first disagreement. training selects the pass mode. */
int fixture_gradcheck(nn_model *model, int64_t batch, int training, double atol, double rtol);

/* The same at a given input (batch x input size floats) instead of a random one: for
 * layers with kinks (max pooling), where inputs must stay clear of ties. */
int fixture_gradcheck_at(nn_model *model, int64_t batch, int training, double atol,
                         double rtol, const float *input);

/* The same on padded sequences: the pass carries `lengths` (valid steps per row). */
int fixture_gradcheck_lengths(nn_model *model, int64_t batch, int training, double atol,
                              double rtol, const float *input, const int32_t *lengths);

/* Builds a model (seed 1) and a loss from YAML text, then takes `steps` plain SGD steps (lr
 * 0.05) on one fixed random batch: inputs in [-2, 2), float targets, one-hot rows of
 * random classes when one_hot, else values in [-1, 1). Returns a malloc'ed copy of every
 * parameter (*n_floats of them), or NULL with the error printed. */
float *fixture_train_steps(const char *model_yaml, const char *loss_yaml, int64_t batch,
                           int steps, int one_hot, int64_t *n_floats);

/* Building the model must fail with a config error whose message contains `expect`. Returns 1
 * when it does; otherwise prints what happened and returns 0. */
int fixture_config_error(const char *model_yaml, const char *expect);

/* A model whose layer 1 carries a fused relu: runs its forward with input value nan_at set
 * to NaN and returns 1 when the output is relu of layer 1's output bit for bit (x > 0 ? x :
 * 0, so +0 for -0 and NaN), the NaN reached some of it, and a training pass (which need not
 * store layer 1's output) gives the same outputs; otherwise prints the first wrong value,
 * prefixed by `what`, and returns 0. */
int fixture_fused_relu_bits(nn_model *model, int64_t batch, int64_t nan_at, const char *what);

/* Whether `word` stands in text as a word of its own: "l1" is in "{type: l1}" but not in
 * "l1_penalty" (for tests that find catalogue names in config specs or help text). */
int fixture_mentions(const char *text, const char *word);

/* "valid: a, b, c": the names of a catalogue's rows in table order, as an unknown name's
 * config error lists them. */
void fixture_valid_list(void (*catalogue)(nni_catalogue_emit emit, void *ctx), char *buf,
                        size_t size);

#endif
