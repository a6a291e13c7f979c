/* The layer types known to the config: one line per type (its ops, in its own file, carry
 * its keys and help). Elementwise activation functions (activation.c's table) are layer
 * types too, all served by one ops table. */
#include <stdio.h>
#include <string.h>

#include "layers/activation.h"
#include "layers/layer_util.h"
#include "layers/registry.h"
#include "model/model_internal.h"

extern const nn_layer_ops nni_dense_ops, nni_activation_ops, nni_softmax_ops, nni_log_softmax_ops,
    nni_add_ops, nni_concat_ops, nni_prelu_ops, nni_rrelu_ops, nni_dropout_ops, nni_conv2d_ops,
    nni_maxpool_ops, nni_avgpool_ops, nni_global_avgpool_ops, nni_flatten_ops, nni_batchnorm_ops,
    nni_conv2d_transpose_ops, nni_upsample_ops, nni_rnn_ops, nni_lstm_ops, nni_gru_ops,
    nni_embedding_ops, nni_formula_ops;

typedef struct layer_entry {
    const nn_layer_ops *ops;
    int is_activation; /* usable as a layer's `activation:` */
} layer_entry;

static const layer_entry layer_table[] = {
    {&nni_dense_ops, 0},
    {&nni_softmax_ops, 1},
    {&nni_log_softmax_ops, 1},
    {&nni_add_ops, 0},
    {&nni_concat_ops, 0},
    {&nni_prelu_ops, 1},
    {&nni_rrelu_ops, 1},
    {&nni_dropout_ops, 0},
    {&nni_conv2d_ops, 0},
    {&nni_maxpool_ops, 0},
    {&nni_avgpool_ops, 0},
    {&nni_global_avgpool_ops, 0},
    {&nni_flatten_ops, 0},
    {&nni_batchnorm_ops, 0},
    {&nni_conv2d_transpose_ops, 0},
    {&nni_upsample_ops, 0},
    {&nni_rnn_ops, 0},
    {&nni_lstm_ops, 0},
    {&nni_gru_ops, 0},
    {&nni_embedding_ops, 0},
    {&nni_formula_ops, 1},
};
enum { N_LAYER_TYPES = sizeof layer_table / sizeof layer_table[0] };

const nn_layer_ops *nni_layer_find(const char *type)
{
    for (int i = 0; i < N_LAYER_TYPES; i++)
        if (strcmp(layer_table[i].ops->type, type) == 0)
            return layer_table[i].ops;
    if (nni_activation_is_elementwise(type))
        return &nni_activation_ops;
    return NULL;
}

const nn_layer_ops *nni_activation_layer_ops(const char *function)
{
    if (nni_activation_is_elementwise(function))
        return &nni_activation_ops;
    for (int i = 0; i < N_LAYER_TYPES; i++)
        if (layer_table[i].is_activation && strcmp(layer_table[i].ops->type, function) == 0)
            return layer_table[i].ops;
    return NULL;
}

static const char *const *all_names(int activations_only)
{
    static const char *names[2][N_LAYER_TYPES + 64];
    const char **list = names[activations_only];
    int n = 0;
    for (int i = 0; i < N_LAYER_TYPES; i++)
        if (!activations_only || layer_table[i].is_activation)
            list[n++] = layer_table[i].ops->type;
    for (int i = 0; i < nni_activation_count() && n < N_LAYER_TYPES + 62; i++)
        list[n++] = nni_activation_name(i);
    list[n] = NULL;
    return list;
}

const char *const *nni_layer_type_names(void)
{
    return all_names(0);
}

void nni_layer_catalogue(nni_catalogue_emit emit, void *ctx)
{
    for (int i = 0; i < N_LAYER_TYPES; i++) {
        const nn_layer_ops *ops = layer_table[i].ops;
        char help[512];
        snprintf(help, sizeof help, "%s%s", ops->help,
                 layer_table[i].is_activation ? "; also as a layer's activation:" : "");
        nni_catalogue_row row = {ops->type, ops->params, help};
        emit(&row, ctx);
    }
}

const char *const *nni_activation_names(void)
{
    return all_names(1);
}

nn_status nni_activation_unknown(nn_error *err, const nn_cfg *where, const char *function)
{
    return nn_cfg_fail_unknown(err, where, "activation", function, all_names(1));
}
