"""nntrain export: the PyTorch module written for a checkpoint predicts what `nntrain predict`
writes (within 1e-5) for the MLP, the CNN, the residual+inception network and the batchnorm
MLP of launch/configs, and for a model with every layer type and every activation of the
catalogue; the ONNX export of each passes onnx.checker."""
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


# Layer types without a PyTorch form yet: exporting a model with one fails with a one-line
# error naming the layer (checked in tests/e2e/test_export_cli.sh).
NO_TORCH_FORM = {"conv2d_transpose", "upsample", "rnn", "lstm", "gru", "embedding", "formula"}


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


def load_module(path):
    spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
        x = x_ds[0:300].astype(np.float32) * np.float32(x_ds.attrs.get("scale", 1.0)) + \
            np.float32(x_ds.attrs.get("offset", 0.0))
    zoo = os.path.join(work, "zoo.yaml")
    with open(zoo, "w") as f:
        f.write(zoo_config())
    models = {name: os.path.join(SOURCE, "launch", "configs", name + ".yaml")
              for name in ("mlp", "cnn", "resnet-inception", "mlp-batchnorm")}
    models["zoo"] = zoo
    check = Checker(rtol=1e-5)
    # A layer type or activation added to the catalogue must join the zoo, or the list of
    # types `nntrain export` refuses by name (NO_TORCH_FORM).
    zoo_text = zoo_config()
    for title in ("layer types", "activations"):
        names = [n for n in catalogue_names(title) if n not in NO_TORCH_FORM]
        check.covers(f"export of {title}", names, mentioned(names, [zoo_text]))
    for name, config in models.items():
        run = os.path.join(work, name)
        subprocess.run([NNTRAIN, "train", config, "--run-dir", run, "--no-progress",
                        "--set", f"data.path={data}", "--set", "data.train_rows=[0, 160]",
                        "--set", "data.test_rows=[0, 300]", "--set", "data.val=none",
                        "--set", "train.epochs=1"], check=True, capture_output=True)
        ckpt = os.path.join(run, "last.h5")
        preds = os.path.join(work, name + "-preds.h5")
        subprocess.run([NNTRAIN, "predict", ckpt, "--data", small, "-o", preds], check=True, capture_output=True)
        module_path = os.path.join(work, name.replace("-", "_") + "_model.py")
        subprocess.run([NNTRAIN, "export", ckpt, "--format", "torch", "-o", module_path],
                       check=True, capture_output=True)
        net = load_module(module_path).load()
        with torch.no_grad():
            theirs = net(torch.from_numpy(x)).numpy()
        with h5py.File(preds, "r") as f:
            ours = f["outputs"][()]
        check.close(f"{name}: PyTorch module vs nntrain predict", ours, theirs, atol=1e-5,
                    rtol=1e-5)
        onnx_path = os.path.join(work, name + ".onnx")
        subprocess.run([NNTRAIN, "export", ckpt, "--format", "onnx", "-o", onnx_path,
                        "--python", sys.executable], check=True, capture_output=True)
        onnx.checker.check_model(onnx.load(onnx_path))
        print(f"{name}: max |difference| {np.abs(ours - theirs).max():.3g}, onnx ok")
    check.finish()


main()
