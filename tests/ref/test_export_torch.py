"""nntrain export: the PyTorch module written for a checkpoint predicts what `nntrain predict`
writes (within 1e-5) for the MLP, the CNN, the residual+inception network, the batchnorm MLP,
the convolutional autoencoder and the formula MLP of launch/configs, and for models that
together hold every layer type and every activation of the catalogue: a zoo of the image
layers and activations, a decoder (transposed convolutions, every upsampling mode, formula
layers of every formula function), recurrent layers (rnn with both nonlinearities, lstm and
gru, one- and two-directional, stacked, sequences and final states) and an embedding model
trained with the ctc loss; the ONNX export of each passes onnx.checker's full check (shape
and type inference included)."""
import importlib.util
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.join(os.environ["NN_SOURCE_DIR"], "tests", "ref"))
from reflib import Checker, catalogue_names, mentioned  # noqa: E402

NNTRAIN = os.environ["NNTRAIN"]
SOURCE = os.environ["NN_SOURCE_DIR"]
torch.set_num_threads(1)


def fashion_mnist():
    """The imported Fashion-MNIST file, shared with the e2e tests (tests/e2e/lib.sh)."""
    cache = os.path.join(os.environ.get("NN_BINARY_DIR", tempfile.gettempdir()),
                         "fashion-mnist.h5")
    if not os.path.exists(cache):
        src = "/usr/share/datasets/fashion-mnist"
        tmp = f"{cache}.{os.getpid()}"
        subprocess.run([NNTRAIN, "import", "idx",
                        "--images", f"{src}/train-images-idx3-ubyte.gz",
                        "--labels", f"{src}/train-labels-idx1-ubyte.gz",
                        "--test-images", f"{src}/t10k-images-idx3-ubyte.gz",
                        "--test-labels", f"{src}/t10k-labels-idx1-ubyte.gz", "-o", tmp],
                       check=True, capture_output=True)
        os.replace(tmp, cache)
    return cache


# Layer types without a PyTorch form: exporting a model with one fails with a one-line error
# naming the layer (nni_model_write_torch). Every type has one today.
NO_TORCH_FORM = set()


def zoo_config():
    """Every layer type, both padding shapes of the pools, uneven 'same' padding, groups and
    dilation, and every elementwise activation as a branch of its own."""
    acts = catalogue_names("activations")
    params = {"leaky_relu": ", alpha: 0.2", "elu": ", alpha: 0.5", "isru": ", alpha: 2",
              "isrlu": ", alpha: 0.5", "softplus": ", beta: 2"}
    branches = "".join(f"    - {{name: a_{a}, type: {a}, inputs: [h]{params.get(a, '')}}}\n"
                       for a in acts)
    # A layer takes at most 8 inputs: the branches are concatenated 7 at a time.
    groups = [acts[i:i + 7] for i in range(0, len(acts), 7)]
    branches += "".join(f"    - {{name: g{k}, type: concat, inputs: [{', '.join('a_' + a for a in g)}]}}\n"
                        for k, g in enumerate(groups))
    names = ", ".join(f"g{k}" for k in range(len(groups)))
    return f"""model:
  input: [1, 28, 28]
  layers:
    - {{name: c1, type: conv2d, filters: 4, kernel: 2, padding: same, activation: prelu}}
    - {{name: bn1, type: batchnorm, activation: {{type: rrelu, lower: 0.1, upper: 0.3}}}}
    - {{name: mp, type: maxpool, size: 3, stride: 2, padding: 1}}
    - {{name: ap1, type: avgpool, size: 3, stride: 2, padding: 1, count_include_pad: false,
       inputs: [c1]}}
    - {{name: ap2, type: avgpool, size: 2, inputs: [bn1]}}
    - {{name: cat, type: concat, inputs: [mp, ap1, ap2]}}
    - {{name: c2, type: conv2d, filters: 12, kernel: 3, padding: 2, dilation: 2, groups: 3,
       bias: false, activation: elu}}
    - {{name: sum, type: add, inputs: [cat, c2]}}
    - {{name: pr, type: prelu, shared: true}}
    - {{name: drop, type: dropout, p: 0.2}}
    - {{name: gap, type: global_avgpool}}
    - {{name: flat, type: flatten, inputs: [pr]}}
    - {{name: h, type: dense, units: 16}}
    - {{name: bn2, type: batchnorm, inputs: [h]}}
    - {{name: sm, type: softmax, inputs: [bn2]}}
{branches}    - {{name: all, type: concat, inputs: [gap, sm, {names}]}}
    - {{name: logits, type: dense, units: 10}}
    - {{name: out, type: log_softmax}}
train: {{epochs: 1, batch_size: 32, loss: nll, optimizer: {{type: adam, lr: 0.003}}}}
seed: 7
"""


DECODER = """model:
  input: [1, 28, 28]
  layers:
    - {name: enc, type: conv2d, filters: 4, kernel: 3, stride: 2, padding: 1, activation: relu}
    - {name: dec, type: conv2d_transpose, filters: 3, kernel: [3, 2], stride: [2, 1],
       padding: [1, 0], output_padding: [1, 1], dilation: [1, 2],
       activation: {formula: "x * sigmoid(beta * x)", params: {beta: 1.5}, learn: [beta],
                    per_channel: true}}
    - {name: plain, type: conv2d_transpose, filters: 2, kernel: 2, stride: 2, bias: false,
       inputs: [enc]}
    - {name: up_near, type: upsample, scale: [2, 3], inputs: [dec]}
    - {name: up_bil, type: upsample, scale: 3, mode: bilinear, inputs: [dec]}
    - {name: up_bil_ac, type: upsample, scale: [3, 2], mode: bilinear, align_corners: true,
       inputs: [dec]}
    - {name: f, type: formula, inputs: [up_near], params: {lo: 0.3},
       formula: "clamp(x, -lo, 2) + min(x, 0.5) * max(x, 0) - where(x > 1, exp(-x^2),
                 log1p(abs(x))) + pow(2, tanh(x)) + erf(x) - softplus(x) + sign(x) * floor(x)
                 / (1 + ceil(x)^2) + atan(x) + sqrt(x*x + 1) + sin(x) * cos(x) + relu(x)
                 + (x != 0) + (x == 0) + (x <= 0.1) + (x >= lo) + (x < -lo) - x / -4
                 + log(1 + sigmoid(x))"}
    - {name: g1, type: global_avgpool, inputs: [f]}
    - {name: g2, type: global_avgpool, inputs: [up_bil]}
    - {name: g3, type: global_avgpool, inputs: [up_bil_ac]}
    - {name: g4, type: global_avgpool, inputs: [plain]}
    - {name: cat, type: concat, inputs: [g1, g2, g3, g4]}
    - {name: logits, type: dense, units: 10,
       activation: {formula: "x - s * x^2", params: {s: 0.1}, learn: [s]}}
    - {name: out, type: log_softmax}
train: {epochs: 1, batch_size: 32, loss: nll, optimizer: {type: adam, lr: 0.003}}
seed: 7
"""

# Image rows as steps: 28 steps of 28 features.
RECURRENT = """model:
  input: [28, 28]
  layers:
    - {name: r1, type: lstm, units: 8, bidirectional: true, return_sequences: true}
    - {name: r2, type: gru, units: 6, return_sequences: true}
    - {name: r3, type: rnn, units: 5, bidirectional: true, nonlinearity: relu,
       return_sequences: true}
    - {name: r4, type: rnn, units: 4}
    - {name: r5, type: gru, units: 3, bidirectional: true, inputs: [r2]}
    - {name: r6, type: lstm, units: 3, inputs: [r3]}
    - {name: per_step, type: dense, units: 2, inputs: [r3]}
    - {name: steps, type: flatten}
    - {name: cat, type: concat, inputs: [r4, r5, r6, steps]}
    - {name: logits, type: dense, units: 10}
    - {name: out, type: log_softmax}
train: {epochs: 1, batch_size: 32, loss: nll, optimizer: {type: adam, lr: 0.01}}
seed: 7
"""

# Token ids (49 steps: a 7 x 7 image, each pixel one of 8 grey levels) read by a
# bidirectional lstm and a gru, scored per step for the ctc loss.
EMBEDDING = """model:
  input: [49]
  layers:
    - {name: embed, type: embedding, num: 8, dim: 5}
    - {name: read, type: lstm, units: 6, bidirectional: true, return_sequences: true}
    - {name: again, type: gru, units: 5, return_sequences: true}
    - {name: scores, type: dense, units: 4}
train: {epochs: 1, batch_size: 32, loss: {type: ctc, classes: 4, blank: 0},
        optimizer: {type: adam, lr: 0.01}}
seed: 7
"""


def token_file(path, data):
    """Fashion-MNIST at 7 x 7 in 8 grey levels as id sequences, with labels 1..3 for the ctc
    loss (the class, its rest, one more); the test rows include ids out of range (-1, 8)
    and halves (2.5 reads as 2, 3.5 as 4), which the module must read as nntrain does."""
    with h5py.File(data, "r") as f, h5py.File(path, "w") as g:
        for split, rows in (("train", 160), ("test", 300)):
            images = f[split + "/x"][0:rows].astype(np.float32).reshape(rows, 7, 4, 7, 4)
            ids = np.floor(images.mean((2, 4)) / 32.0).reshape(rows, 49)
            labels = f[split + "/y"][0:rows].astype(np.int64)
            y = np.stack([1 + labels % 3, 1 + (labels // 3) % 3, 1 + (labels + 1) % 3], 1)
            if split == "test":
                ids[0, :4] = [-1, 8, 2.5, 3.5]
            g[split + "/x"] = ids.astype(np.float32)
            g[split + "/y"] = y.astype(np.float32)


def load_module(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def image_rows(path, rows):
    """The first rows of a file's test images as the model reads them (scale and offset)."""
    with h5py.File(path, "r") as f:
        x_ds = f["test/x"]
        return x_ds[0:rows].astype(np.float32) * np.float32(x_ds.attrs.get("scale", 1.0)) + \
            np.float32(x_ds.attrs.get("offset", 0.0))


def main():
    work = tempfile.mkdtemp(prefix="nnexport-")
    data = fashion_mnist()
    # The first 300 test rows as a file of their own, for `nntrain predict --data`.
    small = os.path.join(work, "small.h5")
    with h5py.File(data, "r") as f, h5py.File(small, "w") as g:
        x_ds = f["test/x"]
        g["test/x"] = x_ds[0:300]
        g["test/y"] = f["test/y"][0:300]
        for key, value in x_ds.attrs.items():
            g["test/x"].attrs[key] = value
        for key, value in f.attrs.items():
            g.attrs[key] = value
    tokens = os.path.join(work, "tokens.h5")
    token_file(tokens, data)
    written = {"zoo": zoo_config(), "decoder": DECODER, "recurrent": RECURRENT,
               "embedding-ctc": EMBEDDING}
    # name: (config, training data, test data for predict)
    models = {name: (os.path.join(SOURCE, "launch", "configs", name + ".yaml"), data, small)
              for name in ("mlp", "cnn", "resnet-inception", "mlp-batchnorm",
                           "autoencoder-conv", "mlp-formulas")}
    for name, text in written.items():
        config = os.path.join(work, name + ".yaml")
        with open(config, "w") as f:
            f.write(text)
        models[name] = (config, tokens if name == "embedding-ctc" else data,
                        tokens if name == "embedding-ctc" else small)
    check = Checker(rtol=1e-5)
    # A layer type or activation added to the catalogue must join one of these models, or
    # the list of types `nntrain export` refuses by name (NO_TORCH_FORM).
    for title in ("layer types", "activations"):
        names = [n for n in catalogue_names(title) if n not in NO_TORCH_FORM]
        check.covers(f"export of {title}", names, mentioned(names, list(written.values())))
    for name, (config, train_data, test_data) in models.items():
        run = os.path.join(work, name)
        subprocess.run([NNTRAIN, "train", config, "--run-dir", run, "--no-progress",
                        "--set", f"data.path={train_data}", "--set", "data.train_rows=[0, 160]",
                        "--set", "data.test_rows=[0, 300]", "--set", "data.val=none",
                        "--set", "train.epochs=1"], check=True, capture_output=True)
        ckpt = os.path.join(run, "last.h5")
        preds = os.path.join(work, name + "-preds.h5")
        subprocess.run([NNTRAIN, "predict", ckpt, "--data", test_data, "-o", preds],
                       check=True, capture_output=True)
        module_path = os.path.join(work, name.replace("-", "_") + "_model.py")
        subprocess.run([NNTRAIN, "export", ckpt, "--format", "torch", "-o", module_path],
                       check=True, capture_output=True)
        net = load_module(module_path).load()
        with torch.no_grad():
            theirs = net(torch.from_numpy(image_rows(test_data, 300))).numpy()
        with h5py.File(preds, "r") as f:
            ours = f["outputs"][()]
        check.close(f"{name}: PyTorch module vs nntrain predict", ours.reshape(-1),
                    theirs.reshape(-1), atol=1e-5, rtol=1e-5)
        onnx_path = os.path.join(work, name + ".onnx")
        subprocess.run([NNTRAIN, "export", ckpt, "--format", "onnx", "-o", onnx_path,
                        "--python", sys.executable], check=True, capture_output=True)
        onnx.checker.check_model(onnx.load(onnx_path), full_check=True)
        print(f"{name}: max |difference| {np.abs(ours.reshape(-1) - theirs.reshape(-1)).max():.3g}"
              f", onnx ok")
    check.finish()


main()
