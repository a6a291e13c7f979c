/* Configuration tree to YAML text, with libyaml's emitter (which quotes whatever plain
 * YAML cannot hold, such as ": " or " #").
 *
 * Block style, except that short lists of scalars ([1, 28, 28]) and short flat maps inside
 * lists (layers) are written on one line, as people write them. A scalar that was quoted in
 * the source stays quoted when it would otherwise read as a number, a boolean or null, so
 * `name: "yes"` does not come back as a boolean to the next reader. */
#include "config/cfg_internal.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Longest line a flow collection may take before we fall back to block style. */
#define FLOW_WIDTH 100

typedef struct out_buffer {
    char *data;
    size_t len, cap;
    int failed;
} out_buffer;

static int write_out(void *data, unsigned char *bytes, size_t size)
{
    out_buffer *out = data;
    if (out->len + size + 1 > out->cap) {
        size_t cap = out->cap ? out->cap : 1024;
        while (out->len + size + 1 > cap)
            cap *= 2;
        char *grown = realloc(out->data, cap);
        if (!grown) {
            out->failed = 1;
            return 0;
        }
        out->data = grown;
        out->cap = cap;
    }
    memcpy(out->data + out->len, bytes, size);
    out->len += size;
    out->data[out->len] = '\0';
    return 1;
}

static int same_ascii_lower(const char *text, const char *word)
{
    for (; *text && *word; text++, word++)
        if ((*text >= 'A' && *text <= 'Z' ? *text - 'A' + 'a' : *text) != *word)
            return 0;
    return *text == *word;
}

/* Would a YAML reader take this plain text for something other than a string? */
static int reads_as_non_string(const char *text)
{
    double d;
    long long i;
    int b;
    const char *unsigned_text = text[0] == '+' || text[0] == '-' ? text + 1 : text;
    return nni_cfg_is_null_text(text) || nni_cfg_parse_bool(text, &b) ||
           nni_cfg_parse_double(text, &d) != 0 || nni_cfg_parse_int(text, &i) != 0 ||
           same_ascii_lower(unsigned_text, ".nan") || strcmp(text, "<<") == 0;
}

static int is_flat_scalar(const nn_cfg *node)
{
    return node->kind == NN_CFG_SCALAR && !strchr(node->text, '\n');
}

/* Characters the node takes on one line, or more than FLOW_WIDTH when it should not go on
 * one line at all. */
static size_t flow_length(const nn_cfg *node, int depth)
{
    if (is_flat_scalar(node))
        return strlen(node->text) + (node->quoted ? 2 : 0);
    if (node->kind == NN_CFG_SCALAR || depth > 1)
        return FLOW_WIDTH + 1;
    size_t n = 2;
    for (int i = 0; i < node->count && n <= FLOW_WIDTH; i++) {
        const cfg_entry *e = &node->entries[i];
        if (e->key)
            n += strlen(e->key) + 2;
        n += flow_length(e->value, depth + 1) + 2;
    }
    return n;
}

static int use_flow(const nn_cfg *node, int in_seq)
{
    if (node->count == 0)
        return 1;
    if (node->kind == NN_CFG_SEQ) {
        for (int i = 0; i < node->count; i++)
            if (!is_flat_scalar(node->entries[i].value))
                return 0;
        return flow_length(node, 1) <= FLOW_WIDTH;
    }
    return in_seq && flow_length(node, 0) <= FLOW_WIDTH;
}

static int emit_scalar(yaml_emitter_t *em, const char *text, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    return yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), 1,
                                        1, style) &&
           yaml_emitter_emit(em, &ev);
}

static int emit_node(yaml_emitter_t *em, const nn_cfg *node, int in_seq, int in_flow)
{
    yaml_event_t ev;
    if (node->kind == NN_CFG_SCALAR) {
        yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
        if (node->quoted && reads_as_non_string(node->text))
            style = YAML_SINGLE_QUOTED_SCALAR_STYLE;
        else if (strchr(node->text, '\n') && !in_flow)
            style = YAML_LITERAL_SCALAR_STYLE;
        return emit_scalar(em, node->text, style);
    }
    int flow = in_flow || use_flow(node, in_seq);
    int ok;
    if (node->kind == NN_CFG_MAP)
        ok = yaml_mapping_start_event_initialize(
            &ev, NULL, NULL, 1, flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE);
    else
        ok = yaml_sequence_start_event_initialize(
            &ev, NULL, NULL, 1, flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE);
    if (!ok || !yaml_emitter_emit(em, &ev))
        return 0;
    for (int i = 0; i < node->count; i++) {
        const cfg_entry *e = &node->entries[i];
        /* A key spelled "<<" must not turn into a merge key. */
        if (e->key && !emit_scalar(em, e->key,
                                   strcmp(e->key, "<<") == 0 ? YAML_SINGLE_QUOTED_SCALAR_STYLE
                                                             : YAML_ANY_SCALAR_STYLE))
            return 0;
        if (!emit_node(em, e->value, node->kind == NN_CFG_SEQ, flow))
            return 0;
    }
    if (node->kind == NN_CFG_MAP)
        ok = yaml_mapping_end_event_initialize(&ev);
    else
        ok = yaml_sequence_end_event_initialize(&ev);
    return ok && yaml_emitter_emit(em, &ev);
}

char *nn_cfg_to_yaml(const nn_cfg *root)
{
    if (!root)
        return NULL;
    yaml_emitter_t em;
    yaml_event_t ev;
    out_buffer out = {0};
    if (!yaml_emitter_initialize(&em))
        return NULL;
    yaml_emitter_set_output(&em, write_out, &out);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_indent(&em, 2);
    yaml_emitter_set_width(&em, -1);
    int ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
             yaml_emitter_emit(&em, &ev) &&
             yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
             yaml_emitter_emit(&em, &ev) && emit_node(&em, root, 0, 0) &&
             yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&em, &ev) &&
             yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&em, &ev) &&
             yaml_emitter_flush(&em);
    yaml_emitter_delete(&em);
    if (!ok || out.failed) {
        free(out.data);
        return NULL;
    }
    return out.data;
}
