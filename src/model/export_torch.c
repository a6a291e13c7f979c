/* The model as PyTorch: a fixed prelude of the helper modules whose semantics differ from a
 * plain torch.nn class (dense flattens its input, padding may be uneven, softmax spans the
 * whole sample, add and concat take several inputs), then the layers in topological order,
 * each the module its layer type writes (torch_module in its ops), and the wiring of the
 * DAG. Parameters keep nntrain's names, which are PyTorch's (weight, bias, running_mean,
 * running_var), so the loader copies /params/<layer>/<name> and /state/<layer>/<name> into
 * `layers.<i>.<name>` and checks that nothing is left over on either side; a helper whose
 * torch names differ (Recurrent's weight_ih_l0, Formula's learned.<name>) maps them in its
 * state_key. */
#include "model/export_torch.h"

#include <stdlib.h>
#include <string.h>

#include "model/model_internal.h"

static const char prelude[] =
    "import math\n"
    "\n"
    "import torch\n"
    "import torch.nn as nn\n"
    "import torch.nn.functional as F\n"
    "\n"
    "\n"
    "class Dense(nn.Linear):\n"
    "    \"\"\"nntrain's dense: torch.nn.Linear on the input flattened in NCHW order, or on each\n"
    "    step of a (steps, features) sequence (per_step).\"\"\"\n"
    "\n"
    "    def __init__(self, *args, per_step=False, **kwargs):\n"
    "        super().__init__(*args, **kwargs)\n"
    "        self.per_step = per_step\n"
    "\n"
    "    def forward(self, x):\n"
    "        return super().forward(x if self.per_step else x.flatten(1))\n"
    "\n"
    "\n"
    "class Conv2d(nn.Conv2d):\n"
    "    \"\"\"torch.nn.Conv2d after F.pad(x, pads): nntrain's 'same' may pad unevenly.\"\"\"\n"
    "\n"
    "    def __init__(self, pads, *args, **kwargs):\n"
    "        super().__init__(*args, **kwargs)\n"
    "        self.pads = pads\n"
    "\n"
    "    def forward(self, x):\n"
    "        return super().forward(F.pad(x, self.pads) if any(self.pads) else x)\n"
    "\n"
    "\n"
    "class Pool2d(nn.Module):\n"
    "    \"\"\"maxpool (padding as -inf) or avgpool (padding counted in the divisor unless\n"
    "    count_include_pad is False) over windows of the padded input.\"\"\"\n"
    "\n"
    "    def __init__(self, kind, size, stride, pads, count_include_pad=True):\n"
    "        super().__init__()\n"
    "        self.kind, self.size, self.stride, self.pads = kind, size, stride, pads\n"
    "        self.count_include_pad = count_include_pad\n"
    "\n"
    "    def forward(self, x):\n"
    "        padded = any(self.pads)\n"
    "        if self.kind == \"max\":\n"
    "            if padded:\n"
    "                x = F.pad(x, self.pads, value=-math.inf)\n"
    "            return F.max_pool2d(x, self.size, self.stride)\n"
    "        y = F.avg_pool2d(F.pad(x, self.pads) if padded else x, self.size, self.stride)\n"
    "        if self.count_include_pad or not padded:\n"
    "            return y\n"
    "        ones = F.pad(torch.ones_like(x[:1, :1]), self.pads)\n"
    "        return y / F.avg_pool2d(ones, self.size, self.stride)\n"
    "\n"
    "\n"
    "class GlobalAvgPool(nn.Module):\n"
    "    def forward(self, x):\n"
    "        return x.mean((2, 3))\n"
    "\n"
    "\n"
    "class Softmax(nn.Module):\n"
    "    \"\"\"softmax (or log_softmax) over all values of each sample.\"\"\"\n"
    "\n"
    "    def __init__(self, log=False):\n"
    "        super().__init__()\n"
    "        self.log = log\n"
    "\n"
    "    def forward(self, x):\n"
    "        flat = x.flatten(1)\n"
    "        y = F.log_softmax(flat, 1) if self.log else F.softmax(flat, 1)\n"
    "        return y.reshape(x.shape)\n"
    "\n"
    "\n"
    "class Add(nn.Module):\n"
    "    def forward(self, *xs):\n"
    "        y = xs[0]\n"
    "        for x in xs[1:]:\n"
    "            y = y + x\n"
    "        return y\n"
    "\n"
    "\n"
    "class Concat(nn.Module):\n"
    "    def forward(self, *xs):\n"
    "        return torch.cat(xs, 1)\n"
    "\n"
    "\n"
    "class Elementwise(nn.Module):\n"
    "    def __init__(self, name, function):\n"
    "        super().__init__()\n"
    "        self.name, self.function = name, function\n"
    "\n"
    "    def forward(self, x):\n"
    "        return self.function(x)\n"
    "\n"
    "    def extra_repr(self):\n"
    "        return self.name\n"
    "\n"
    "\n"
    "class Upsample(nn.Module):\n"
    "    \"\"\"upsample by integer factors: nearest repeats each pixel (exactly, where a float\n"
    "    scale could round), bilinear is F.interpolate's with the same align_corners.\"\"\"\n"
    "\n"
    "    def __init__(self, scale, mode, align_corners=False):\n"
    "        super().__init__()\n"
    "        self.scale, self.mode, self.align_corners = scale, mode, align_corners\n"
    "\n"
    "    def forward(self, x):\n"
    "        sh, sw = self.scale\n"
    "        if self.mode == \"nearest\":\n"
    "            n, c, h, w = x.shape\n"
    "            y = x[:, :, :, None, :, None].expand(n, c, h, sh, w, sw)\n"
    "            return y.reshape(n, c, h * sh, w * sw)\n"
    "        return F.interpolate(x, scale_factor=(float(sh), float(sw)), mode=\"bilinear\",\n"
    "                             align_corners=self.align_corners)\n"
    "\n"
    "\n"
    "class Recurrent(nn.Module):\n"
    "    \"\"\"rnn, lstm or gru: torch.nn.RNN, LSTM or GRU of one layer over (N, steps, features).\n"
    "    Without return_sequences the output is the final hidden state of each direction side by\n"
    "    side (torch's h_n: the forward one after the last step, the reverse one after the\n"
    "    first). nntrain's parameter names lack torch's layer suffix: weight_ih is\n"
    "    rnn.weight_ih_l0, weight_ih_reverse rnn.weight_ih_l0_reverse.\"\"\"\n"
    "\n"
    "    def __init__(self, kind, features, units, bidirectional=False, return_sequences=False,\n"
    "                 **kwargs):\n"
    "        super().__init__()\n"
    "        self.rnn = getattr(nn, kind)(features, units, batch_first=True,\n"
    "                                     bidirectional=bidirectional, **kwargs)\n"
    "        self.return_sequences = return_sequences\n"
    "\n"
    "    @staticmethod\n"
    "    def state_key(name):\n"
    "        reverse = name.endswith(\"_reverse\")\n"
    "        return \"rnn.%s_l0%s\" % (name[:-8] if reverse else name, \"_reverse\" if reverse else \"\")\n"
    "\n"
    "    def forward(self, x):\n"
    "        y, h = self.rnn(x)\n"
    "        if self.return_sequences:\n"
    "            return y\n"
    "        h = h[0] if isinstance(h, tuple) else h\n"
    "        return h.transpose(0, 1).reshape(x.shape[0], -1)\n"
    "\n"
    "\n"
    "class Embedding(nn.Embedding):\n"
    "    \"\"\"ids stored as floats, read as the nearest integer (ties to even); an id outside\n"
    "    [0, num) gives a vector of zeros.\"\"\"\n"
    "\n"
    "    def forward(self, x):\n"
    "        ids = torch.round(x)\n"
    "        valid = (ids >= 0) & (ids < self.num_embeddings)\n"
    "        y = super().forward(torch.where(valid, ids, torch.zeros_like(ids)).long())\n"
    "        return y * valid.unsqueeze(-1).to(y.dtype)\n"
    "\n"
    "\n"
    "def formula_tensors(*args):\n"
    "    \"\"\"The arguments of a formula's function, numbers made tensors of the others' type (so\n"
    "    the ONNX graph has one element type).\"\"\"\n"
    "    like = next(a for a in args if torch.is_tensor(a))\n"
    "    return [a if torch.is_tensor(a) else torch.full((), a, dtype=like.dtype) for a in args]\n"
    "\n"
    "\n"
    "def formula_where(c, a, b):\n"
    "    c, a, b = formula_tensors(c, a, b)\n"
    "    return torch.where(c != 0, a, b)\n"
    "\n"
    "\n"
    "def formula_pow(a, b):\n"
    "    return torch.pow(*formula_tensors(a, b))\n"
    "\n"
    "\n"
    "def formula_min(a, b):\n"
    "    a, b = formula_tensors(a, b)\n"
    "    return torch.where(a < b, a, b)\n"
    "\n"
    "\n"
    "def formula_max(a, b):\n"
    "    a, b = formula_tensors(a, b)\n"
    "    return torch.where(a > b, a, b)\n"
    "\n"
    "\n"
    "def formula_clamp(a, lo, hi):\n"
    "    a, lo, hi = formula_tensors(a, lo, hi)\n"
    "    return torch.where(a < lo, lo, torch.where(a > hi, hi, a))\n"
    "\n"
    "\n"
    "def formula_square(a):\n"
    "    return a * a\n"
    "\n"
    "\n"
    "def formula_sech2(a):\n"
    "    e = torch.exp(-2 * torch.abs(a))\n"
    "    return 4 * e / ((1 + e) * (1 + e))\n"
    "\n"
    "\n"
    "class Formula(nn.Module):\n"
    "    \"\"\"A formula layer: function(x, p), the formula written in torch, where p maps each\n"
    "    parameter's name to its value. Learned parameters are the module's (learned.<name>:\n"
    "    one number, or one per channel, dim 1 of x, when channels > 0); the others are\n"
    "    constants.\"\"\"\n"
    "\n"
    "    def __init__(self, text, function, values, learned=(), channels=0):\n"
    "        super().__init__()\n"
    "        self.text, self.function, self.channels = text, function, channels\n"
    "        self.constants = [k for k in values if k not in learned]\n"
    "        for k in self.constants:\n"
    "            self.register_buffer(\"constant_\" + k, torch.tensor(float(values[k])),\n"
    "                                 persistent=False)\n"
    "        self.learned = nn.ParameterDict({\n"
    "            k: nn.Parameter(torch.full((channels or 1,), float(values[k]))) for k in learned})\n"
    "\n"
    "    @staticmethod\n"
    "    def state_key(name):\n"
    "        return \"learned.\" + name\n"
    "\n"
    "    def forward(self, x):\n"
    "        p = {k: getattr(self, \"constant_\" + k) for k in self.constants}\n"
    "        for k, v in self.learned.items():\n"
    "            p[k] = v.reshape(-1, *[1] * (x.dim() - 2)) if self.channels else v.reshape(())\n"
    "        return self.function(x, p)\n"
    "\n"
    "    def extra_repr(self):\n"
    "        return self.text\n"
    "\n"
    "\n";

static const char model_class[] =
    "\n"
    "\n"
    "class Model(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.layers = nn.ModuleList([m for m, _ in LAYERS])\n"
    "        self.inputs = [i for _, i in LAYERS]\n"
    "\n"
    "    def forward(self, x):\n"
    "        outs = [x.reshape(x.shape[0], *INPUT_SHAPE)]\n"
    "        for layer, inputs in zip(self.layers, self.inputs):\n"
    "            outs.append(layer(*[outs[i] for i in inputs]))\n"
    "        return outs[OUTPUT]\n"
    "\n"
    "\n"
    "def load(path=CHECKPOINT):\n"
    "    \"\"\"The model with the checkpoint's weights, in evaluation mode.\"\"\"\n"
    "    import h5py\n"
    "\n"
    "    model = Model()\n"
    "    state = {}\n"
    "    with h5py.File(path, \"r\") as f:\n"
    "        for index, group, name in PARAMETERS:\n"
    "            layer, short = model.layers[index - 1], name.rsplit(\"/\", 1)[1]\n"
    "            if hasattr(layer, \"state_key\"):  # a helper whose torch names differ\n"
    "                short = layer.state_key(short)\n"
    "            key = \"layers.%d.%s\" % (index - 1, short)\n"
    "            state[key] = torch.from_numpy(f[group + \"/\" + name][()])\n"
    "    missing, unexpected = model.load_state_dict(state, strict=False)\n"
    "    missing = [k for k in missing if not k.endswith(\"num_batches_tracked\")]\n"
    "    if missing or unexpected:\n"
    "        raise ValueError(\"%s: missing %s, unexpected %s\" % (path, missing, unexpected))\n"
    "    return model.eval()\n";

/* A Python string literal. */
static void write_string(FILE *out, const char *text)
{
    fputc('"', out);
    for (const char *c = text; *c; c++) {
        if (*c == '"' || *c == '\\')
            fputc('\\', out);
        fputc(*c, out);
    }
    fputc('"', out);
}

nn_status nni_model_write_torch(const nn_model *model, const char *checkpoint, FILE *out,
                                nn_error *err)
{
    for (int i = 1; i < model->n_layers; i++)
        if (!model->layers[i]->ops->torch_module)
            return nn_fail(err, NN_ERR_CONFIG, "layer '%s' (%s) has no PyTorch form to export",
                           model->layers[i]->name, model->layers[i]->ops->type);
    fprintf(out, "\"\"\"The nntrain model of ");
    write_string(out, checkpoint);
    fprintf(out, " as a PyTorch module, written by `nntrain export`.\n\n"
                 "    import model\n"
                 "    net = model.load()      # the weights, read from the checkpoint with h5py\n"
                 "    y = net(x)              # x: (N, *INPUT_SHAPE) or (N, features), float32\n"
                 "\"\"\"\n");
    fputs(prelude, out);
    fprintf(out, "CHECKPOINT = ");
    write_string(out, checkpoint);
    fprintf(out, "\nINPUT_SHAPE = (");
    for (int d = 0; d < model->input_shape.ndim; d++)
        fprintf(out, "%lld, ", (long long)model->input_shape.dim[d]);
    fprintf(out, ")\nOUTPUT = %d\n\n# (module, indices of its inputs: 0 the model input, i "
                 "the output of LAYERS[i - 1])\nLAYERS = [\n", model->output->id);
    /* a formula's expression can be long: room for the longest text's (formula.h) */
    enum { MODULE_MAX = 1 << 16 };
    char *module = malloc(MODULE_MAX);
    if (!module)
        return nn_fail(err, NN_ERR_OTHER, "out of memory");
    for (int i = 1; i < model->n_layers; i++) {
        const nn_layer *layer = model->layers[i];
        module[0] = 0;
        layer->ops->torch_module(layer, module, MODULE_MAX);
        size_t length = strlen(module);
        if (length == 0 || length == MODULE_MAX - 1) {
            free(module);
            return nn_fail(err, NN_ERR_OTHER, "layer '%s' (%s): its PyTorch form does not fit "
                           "in %d characters", layer->name, layer->ops->type, MODULE_MAX);
        }
        fprintf(out, "    (%s, [", module);
        for (int k = 0; k < layer->n_inputs; k++)
            fprintf(out, "%s%d", k ? ", " : "", layer->inputs[k]->id);
        fprintf(out, "]),  # %d: %s\n", i, layer->name);
    }
    free(module);
    fprintf(out, "]\n\n# (layer index, checkpoint group, \"<layer>/<parameter>\")\n"
                 "PARAMETERS = [\n");
    for (int k = 0; k < model->n_params; k++) {
        const nn_param *p = &model->params[k];
        fprintf(out, "    (%d, \"%s\", ", p->layer->id,
                p->flags & NN_PARAM_STATE ? "state" : "params");
        write_string(out, p->name);
        fprintf(out, "),\n");
    }
    fprintf(out, "]\n");
    fputs(model_class, out);
    return ferror(out) ? nn_fail(err, NN_ERR_OTHER, "cannot write the PyTorch module")
                       : NN_OK;
}
