/* A compiled formula: the nodes the outputs need, as a list of array instructions over
 * chunks of CHUNK values. Operands are slots: the variables (the caller's arrays, or one
 * number broadcast over a chunk), the constants (broadcast once, at compile) and registers
 * (chunks on the stack of the run, reused once their value is dead). An output written
 * with NNI_FORMULA_WRITE is computed straight into the caller's array; the others are
 * stored, added or summed from their register after the chunk's instructions. */
#include <stdlib.h>
#include <string.h>

#include "formula/graph.h"

#define CHUNK 256
#define MAX_REGISTERS 48
#define MAX_CONSTANTS 64

typedef struct instruction {
    formula_kernel kernel;
    formula_scalar scalar;
    int out;       /* register */
    int arg[3];    /* slots (-1: none) */
} instruction;

struct nni_formula_program {
    int n_vars, n_consts, n_registers, n_instructions, n_outputs;
    instruction *code;
    float *constants;        /* n_consts chunks, each one value broadcast */
    double *constant_values; /* the same values in double */
    int output_slot[NNI_FORMULA_MAX_OUTPUTS];
    int output_direct[NNI_FORMULA_MAX_OUTPUTS]; /* the register may be the caller's array */
};

enum { SLOT_NONE = -1 };

static int is_leaf(const formula_node *n)
{
    return n->op == OP_CONST || n->op == OP_VAR;
}

nn_status nni_formula_compile(const nni_formula *f, const int *outputs, int n_outputs,
                              unsigned array_vars, nni_formula_program **out, nn_error *err)
{
    (void)array_vars; /* every variable has a slot; arrays and numbers differ only at run */
    *out = NULL;
    if (n_outputs < 1 || n_outputs > NNI_FORMULA_MAX_OUTPUTS)
        return nn_fail(err, NN_ERR_OTHER, "formula: %d outputs (1 to %d)", n_outputs,
                       NNI_FORMULA_MAX_OUTPUTS);
    const int n = f->n_nodes;
    int *needed = calloc((size_t)n, sizeof *needed);  /* then: the node's slot */
    int *last_use = calloc((size_t)n, sizeof *last_use);
    nni_formula_program *p = calloc(1, sizeof *p);
    instruction *code = calloc((size_t)n, sizeof *code);
    if (!needed || !last_use || !p || !code) {
        free(needed), free(last_use), free(p), free(code);
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    }
    p->code = code;
    p->n_vars = f->n_vars;
    p->n_outputs = n_outputs;
    for (int k = 0; k < n_outputs; k++)
        needed[outputs[k]] = 1;
    for (int i = n - 1; i >= 0; i--)
        if (needed[i])
            for (int k = 0; k < nni_formula_op_table[f->nodes[i].op].arity; k++)
                needed[f->nodes[i].arg[k]] = 1;
    /* Slots: variables, then constants, then registers; needed[i] becomes node i's slot. */
    nn_status st = NN_OK;
    int n_consts = 0;
    for (int i = 0; i < n; i++)
        if (needed[i] && f->nodes[i].op == OP_CONST)
            n_consts++;
    if (n_consts > MAX_CONSTANTS)
        st = nn_fail(err, NN_ERR_CONFIG, "formula has more than %d distinct constants",
                     MAX_CONSTANTS);
    p->constants = malloc((size_t)(n_consts ? n_consts : 1) * CHUNK * sizeof *p->constants);
    p->constant_values = malloc((size_t)(n_consts ? n_consts : 1) * sizeof(double));
    if (!st && (!p->constants || !p->constant_values))
        st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    const int first_register = f->n_vars + n_consts;
    /* Instructions in node order; an instruction's last use decides when its register is
     * free again. Outputs stay live to the end. */
    int order = 0;
    for (int i = 0; i < n && !st; i++) {
        if (!needed[i] || is_leaf(&f->nodes[i]))
            continue;
        for (int k = 0; k < nni_formula_op_table[f->nodes[i].op].arity; k++)
            last_use[f->nodes[i].arg[k]] = order;
        order++;
    }
    for (int k = 0; k < n_outputs; k++)
        last_use[outputs[k]] = order;
    int busy[MAX_REGISTERS] = {0};
    int c = 0;
    order = 0;
    for (int i = 0; i < n && !st; i++) {
        const formula_node *node = &f->nodes[i];
        if (!needed[i])
            continue;
        if (node->op == OP_VAR) {
            needed[i] = (int)node->value;
            continue;
        }
        if (node->op == OP_CONST) {
            p->constant_values[c] = node->value;
            for (int j = 0; j < CHUNK; j++)
                p->constants[c * CHUNK + j] = (float)node->value;
            needed[i] = f->n_vars + c++;
            continue;
        }
        int reg = 0;
        while (reg < MAX_REGISTERS && busy[reg])
            reg++;
        if (reg == MAX_REGISTERS) {
            st = nn_fail(err, NN_ERR_CONFIG, "formula: more than %d intermediate values are "
                         "needed at once; write it in smaller pieces", MAX_REGISTERS);
            break;
        }
        busy[reg] = 1;
        p->n_registers = reg + 1 > p->n_registers ? reg + 1 : p->n_registers;
        instruction *in = &code[p->n_instructions++];
        in->kernel = nni_formula_op_table[node->op].kernel;
        in->scalar = nni_formula_op_table[node->op].scalar;
        in->out = reg;
        const int arity = nni_formula_op_table[node->op].arity;
        for (int k = 0; k < 3; k++) {
            in->arg[k] = k < arity ? needed[node->arg[k]] : SLOT_NONE;
            int a = k < arity ? node->arg[k] : -1;
            /* Freed after the output is taken, so no instruction reads what it writes. */
            if (a >= 0 && !is_leaf(&f->nodes[a]) && last_use[a] == order)
                busy[needed[a] - first_register] = 0;
        }
        needed[i] = first_register + reg;
        order++;
    }
    p->n_consts = c;
    for (int k = 0; k < n_outputs && !st; k++) {
        p->output_slot[k] = needed[outputs[k]];
        p->output_direct[k] = p->output_slot[k] >= first_register;
        for (int j = 0; j < k; j++)
            if (p->output_slot[j] == p->output_slot[k])
                p->output_direct[k] = 0;
    }
    free(needed);
    free(last_use);
    if (st) {
        nni_formula_program_free(p);
        return st;
    }
    *out = p;
    return NN_OK;
}

void nni_formula_program_free(nni_formula_program *p)
{
    if (!p)
        return;
    free(p->code);
    free(p->constants);
    free(p->constant_values);
    free(p);
}

int nni_formula_program_length(const nni_formula_program *p)
{
    return p->n_instructions;
}

void nni_formula_run(const nni_formula_program *p, const float *const *arrays,
                     const float *scalars, int64_t n, float *const *outputs,
                     const nni_formula_store *stores, double *sums)
{
    _Alignas(64) float registers[MAX_REGISTERS][CHUNK];
    _Alignas(64) float broadcast[NNI_FORMULA_MAX_VARS][CHUNK];
    const float *slot[NNI_FORMULA_MAX_VARS + MAX_CONSTANTS + MAX_REGISTERS];
    float *writable[MAX_REGISTERS];
    const int first_register = p->n_vars + p->n_consts;
    for (int v = 0; v < p->n_vars; v++)
        if (!arrays || !arrays[v]) {
            const float value = scalars ? scalars[v] : 0.0f;
            for (int j = 0; j < CHUNK; j++)
                broadcast[v][j] = value;
            slot[v] = broadcast[v];
        }
    for (int c = 0; c < p->n_consts; c++)
        slot[p->n_vars + c] = p->constants + c * CHUNK;
    for (int64_t start = 0; start < n; start += CHUNK) {
        const int count = n - start < CHUNK ? (int)(n - start) : CHUNK;
        for (int v = 0; v < p->n_vars; v++)
            if (arrays && arrays[v])
                slot[v] = arrays[v] + start;
        for (int r = 0; r < p->n_registers; r++)
            writable[r] = registers[r];
        for (int k = 0; k < p->n_outputs; k++)
            if (p->output_direct[k] && stores[k] == NNI_FORMULA_WRITE)
                writable[p->output_slot[k] - first_register] = outputs[k] + start;
        for (int r = 0; r < p->n_registers; r++)
            slot[first_register + r] = writable[r];
        for (int i = 0; i < p->n_instructions; i++) {
            const instruction *in = &p->code[i];
            in->kernel(writable[in->out], slot[in->arg[0]],
                       in->arg[1] >= 0 ? slot[in->arg[1]] : NULL,
                       in->arg[2] >= 0 ? slot[in->arg[2]] : NULL, count);
        }
        for (int k = 0; k < p->n_outputs; k++) {
            const float *value = slot[p->output_slot[k]];
            if (stores[k] == NNI_FORMULA_WRITE) {
                if (value != outputs[k] + start)
                    memcpy(outputs[k] + start, value, (size_t)count * sizeof *value);
            } else if (stores[k] == NNI_FORMULA_ADD) {
                float *to = outputs[k] + start;
                for (int j = 0; j < count; j++)
                    to[j] += value[j];
            } else {
                double total = 0;
                for (int j = 0; j < count; j++)
                    total += (double)value[j];
                sums[k] += total;
            }
        }
    }
}

void nni_formula_run_scalar(const nni_formula_program *p, const double *vars, double *outputs)
{
    double slot[NNI_FORMULA_MAX_VARS + MAX_CONSTANTS + MAX_REGISTERS];
    const int first_register = p->n_vars + p->n_consts;
    for (int v = 0; v < p->n_vars; v++)
        slot[v] = vars[v];
    for (int c = 0; c < p->n_consts; c++)
        slot[p->n_vars + c] = p->constant_values[c];
    for (int i = 0; i < p->n_instructions; i++) {
        const instruction *in = &p->code[i];
        slot[first_register + in->out] =
            in->scalar(slot[in->arg[0]], in->arg[1] >= 0 ? slot[in->arg[1]] : 0,
                       in->arg[2] >= 0 ? slot[in->arg[2]] : 0);
    }
    for (int k = 0; k < p->n_outputs; k++)
        outputs[k] = slot[p->output_slot[k]];
}
