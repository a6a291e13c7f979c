/* nntrain train CONFIG --list-config-keys: every key `--set` can give for CONFIG, one a line,
 * "<path>\tset" when CONFIG (with its --set overrides) sets it and "<path>\tdefault" when it
 * takes its default; the shell completion offers the first column after --set.
 *
 * The keys come from the lists each section's reader checks against (train/train_internal.h,
 * data/augment.h, model/model_internal.h), the key lists of the layer types CONFIG uses, and
 * the catalogue rows of the loss, optimizer and schedule it names (their "key=default" text,
 * config/catalogue.h), then every key CONFIG sets that those do not name. Keys below a
 * section written as a name (`optimizer: adam`) are left out: --set cannot add a key to a
 * scalar. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/catalogue.h"
#include "data/augment.h"
#include "layers/layer_internal.h"
#include "layers/registry.h"
#include "model/model_internal.h"
#include "train/loss_internal.h"
#include "train/optim_internal.h"
#include "train/sched_internal.h"
#include "train/train_internal.h"

typedef struct key_list {
    char **paths;
    int count, cap;
    const nn_cfg *root;
} key_list;

static void add_path(key_list *keys, const char *path)
{
    for (int i = 0; i < keys->count; i++)
        if (strcmp(keys->paths[i], path) == 0)
            return;
    if (keys->count == keys->cap) {
        int cap = keys->cap ? 2 * keys->cap : 64;
        char **grown = realloc(keys->paths, (size_t)cap * sizeof *grown);
        if (!grown)
            return; /* out of memory costs completions only */
        keys->paths = grown;
        keys->cap = cap;
    }
    if ((keys->paths[keys->count] = strdup(path)))
        keys->count++;
}

static void add_key(key_list *keys, const char *section, const char *key)
{
    char path[512];
    snprintf(path, sizeof path, "%s%s%s", section, *section ? "." : "", key);
    add_path(keys, path);
}

static void add_keys(key_list *keys, const char *section, const char *const *names)
{
    for (const char *const *k = names; k && *k; k++)
        add_key(keys, section, *k);
}

/* A section --set can add keys to: a mapping, or absent (created on the way). */
static int open_section(const key_list *keys, const char *path)
{
    const nn_cfg *node = nn_cfg_lookup(keys->root, path);
    return !node || nn_cfg_kind_of(node) == NN_CFG_MAP;
}

/* ---- a catalogue entry's keys, from its row's "key=default ..." text ------------------- */

typedef struct row_keys {
    key_list *keys;
    const char *section, *name;
} row_keys;

static void add_row_params(key_list *keys, const char *section, const char *params)
{
    const char *p = params;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *start = p;
        while (*p && *p != ' ')
            p++;
        size_t word = strspn(start, "abcdefghijklmnopqrstuvwxyz0123456789_");
        /* a key is a lower-case word, alone or before '='; "(required)", "{name:" are not */
        if (word && (start + word == p || start[word] == '=') && start[0] >= 'a' &&
            start[0] <= 'z') {
            char key[64];
            snprintf(key, sizeof key, "%.*s", (int)(word < 63 ? word : 63), start);
            add_key(keys, section, key);
        }
    }
}

static void match_row(const nni_catalogue_row *row, void *ctx)
{
    const row_keys *r = ctx;
    if (strcmp(row->name, r->name) == 0 || strcmp(row->name, "(any type)") == 0)
        add_row_params(r->keys, r->section, row->params);
}

/* train.<section> given as {type: NAME, ...}: the common keys and NAME's. */
static void add_catalogue_section(key_list *keys, const char *section,
                                  const char *const *common,
                                  void (*catalogue)(nni_catalogue_emit, void *))
{
    const nn_cfg *node = nn_cfg_lookup(keys->root, section);
    if (!node || nn_cfg_kind_of(node) != NN_CFG_MAP)
        return;
    const char *type = nn_cfg_scalar(nn_cfg_get(node, "type"));
    if (!type && nn_cfg_get(node, "formula"))
        type = "formula";
    add_keys(keys, section, common);
    row_keys r = {keys, section, type ? type : ""};
    catalogue(match_row, &r);
}

/* ---- the model's layers -------------------------------------------------------------- */

static void add_layer_keys(key_list *keys)
{
    const nn_cfg *layers = nn_cfg_lookup(keys->root, "model.layers");
    for (int i = 0; i < nn_cfg_size(layers) && nn_cfg_kind_of(layers) == NN_CFG_SEQ; i++) {
        const nn_cfg *layer = nn_cfg_at(layers, i);
        const char *type = nn_cfg_scalar(nn_cfg_get(layer, "type"));
        const nn_layer_ops *ops = type ? nni_layer_find(type) : NULL;
        if (!ops && type)
            ops = nni_activation_layer_ops(type);
        if (!ops) /* a repeat block, or a type the build will refuse */
            continue;
        char section[64];
        snprintf(section, sizeof section, "model.layers[%d]", i);
        add_keys(keys, section, nni_layer_common_keys);
        add_keys(keys, section, ops->keys);
    }
}

/* Every leaf CONFIG sets, in file order. */
static void add_set_keys(key_list *keys, const nn_cfg *node)
{
    for (int i = 0; nn_cfg_kind_of(node) == NN_CFG_MAP && i < nn_cfg_size(node); i++) {
        const nn_cfg *child = nn_cfg_at(node, i);
        if (nn_cfg_kind_of(child) == NN_CFG_MAP)
            add_set_keys(keys, child);
        else
            add_path(keys, nn_cfg_path(child));
    }
}

void nni_cli_print_config_keys(const nn_cfg *cfg, FILE *out)
{
    key_list keys = {.root = cfg};
    static const char *const top_scalars[] = {"seed", "name", "runs_dir", NULL};
    add_keys(&keys, "", top_scalars);
    add_keys(&keys, "data", nni_data_keys);
    if (open_section(&keys, "data.val"))
        add_keys(&keys, "data.val", nni_data_val_keys);
    add_keys(&keys, "model", nni_model_keys);
    add_layer_keys(&keys);
    add_keys(&keys, "train", nni_train_keys);
    static const char *const type_key[] = {"type", NULL}, *const loss_keys[] = {"type",
                                                                                "weight", NULL};
    add_catalogue_section(&keys, "train.loss", loss_keys, nni_loss_catalogue);
    add_catalogue_section(&keys, "train.optimizer", type_key, nni_optim_catalogue);
    add_catalogue_section(&keys, "train.schedule", type_key, nni_sched_catalogue);
    static const struct {
        const char *section;
        const char *const *names;
    } sections[] = {{"train.early_stopping", nni_early_stopping_keys},
                    {"train.checkpoint", nni_checkpoint_keys},
                    {"train.clip", nni_clip_keys},
                    {"train.augment", nni_augment_keys}};
    for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++)
        if (open_section(&keys, sections[s].section))
            add_keys(&keys, sections[s].section, sections[s].names);
    add_set_keys(&keys, cfg);
    for (int i = 0; i < keys.count; i++) {
        const nn_cfg *node = nn_cfg_lookup(cfg, keys.paths[i]);
        fprintf(out, "%s\t%s\n", keys.paths[i], node ? "set" : "default");
        free(keys.paths[i]);
    }
    free(keys.paths);
}
