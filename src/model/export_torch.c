/* The model as PyTorch: a fixed prelude of the helper modules whose semantics differ from a
 * plain torch.nn class (dense flattens its input, padding may be uneven, softmax spans the
 * whole sample, add and concat take several inputs), then the layers in topological order,
 * each the module its layer type writes (torch_module in its ops), and the wiring of the
 * DAG. Parameters keep nntrain's names, which are PyTorch's (weight, bias, running_mean,
 * running_var), so the loader copies /params/<layer>/<name> and /state/<layer>/<name> into
 * `layers.<i>.<name>` and checks that nothing is left over on either side. */
#include "model/export_torch.h"

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
    "    \"\"\"nntrain's dense: torch.nn.Linear on the input flattened in NCHW order.\"\"\"\n"
    "\n"
    "    def forward(self, x):\n"
    "        return super().forward(x.flatten(1))\n"
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
    "            key = \"layers.%d.%s\" % (index - 1, name.rsplit(\"/\", 1)[1])\n"
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
    char module[1024];
    for (int i = 1; i < model->n_layers; i++) {
        const nn_layer *layer = model->layers[i];
        layer->ops->torch_module(layer, module, sizeof module);
        fprintf(out, "    (%s, [", module);
        for (int k = 0; k < layer->n_inputs; k++)
            fprintf(out, "%s%d", k ? ", " : "", layer->inputs[k]->id);
        fprintf(out, "]),  # %d: %s\n", i, layer->name);
    }
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
