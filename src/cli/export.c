/* nntrain export CHECKPOINT --format torch|onnx -o OUT
 *
 * torch: a Python file defining the checkpoint's model as a torch.nn.Module, whose load()
 * reads the weights straight from the checkpoint with h5py (model/export_torch.c).
 * onnx: that module, handed to torch.onnx.export by a Python interpreter (--python, default
 * python3), the weights inside the ONNX file. Only these two formats need Python; nntrain
 * itself never does. Either output appears whole or not at all. */
#define _GNU_SOURCE /* mkdtemp */
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/files.h"
#include "model/export_torch.h"
#include "nn/ckpt.h"

extern char **environ;

static const nni_cli_flag export_flags[] = {
    {"format", 0, "torch|onnx", "a PyTorch module (Python) or an ONNX model (default: torch)"},
    {"output", 'o', "OUT", "the file to write (required): model.py or model.onnx"},
    {"python", 0, "EXE", "the Python interpreter with torch for --format onnx (default: "
                         "python3)"},
    {"opset", 0, "N", "the ONNX opset version (default: 14)"},
    {NULL, 0, NULL, NULL},
};

const nni_cli_spec nni_export_spec = {
    "export", "CHECKPOINT", "a checkpoint's model as a PyTorch module or an ONNX file", 1, 1,
    export_flags};

/* torch.onnx.export of the module in argv[1]/model.py to argv[2]; onnx.checker when the
 * onnx package is there. */
static const char onnx_script[] =
    "import sys\n"
    "import torch\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "import model\n"
    "net = model.load()\n"
    "x = torch.zeros(2, *model.INPUT_SHAPE)\n"
    "torch.onnx.export(net, x, sys.argv[2], input_names=['x'], output_names=['y'],\n"
    "                  dynamic_axes={'x': {0: 'batch'}, 'y': {0: 'batch'}},\n"
    "                  opset_version=int(sys.argv[3]))\n"
    "try:\n"
    "    import onnx\n"
    "except ImportError:\n"
    "    sys.exit(0)\n"
    "onnx.checker.check_model(onnx.load(sys.argv[2]))\n";

/* The Python text of the checkpoint's model (malloc'ed). */
static nn_status torch_module_text(const char *checkpoint, char **text, size_t *size,
                                   nn_error *err)
{
    char absolute[PATH_MAX];
    if (!realpath(checkpoint, absolute))
        return nn_fail(err, NN_ERR_DATA, "%s: %s", checkpoint, strerror(errno));
    nn_ckpt_meta meta;
    nn_status st = nn_ckpt_read_meta(absolute, &meta, err);
    if (st)
        return st;
    nn_cfg *cfg = NULL;
    nn_model *model = NULL;
    st = nn_cfg_load_string(meta.config_yaml, checkpoint, &cfg, err);
    nn_ckpt_meta_free(&meta);
    if (!st)
        st = nn_model_build(nn_cfg_get(cfg, "model"), 1, 1, 0, &model, err);
    if (!st) /* the parameters must fit the model the module declares */
        st = nn_ckpt_load(absolute, model, NULL, err);
    FILE *out = NULL;
    *text = NULL;
    if (!st && !(out = open_memstream(text, size)))
        st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    if (!st)
        st = nni_model_write_torch(model, absolute, out, err);
    if (out && fclose(out) != 0 && !st)
        st = nn_fail(err, NN_ERR_OTHER, "out of memory");
    nn_model_free(model);
    nn_cfg_free(cfg);
    return st;
}

/* Runs `python -B -c onnx_script dir target opset` (-B: no __pycache__ left in dir); its
 * own messages go to stderr. */
static nn_status run_onnx_export(const char *python, const char *dir, const char *target,
                                 const char *opset, nn_error *err)
{
    char *argv[] = {(char *)python, "-B", "-c", (char *)onnx_script, (char *)dir, (char *)target,
                    (char *)opset, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, python, NULL, NULL, argv, environ);
    if (rc != 0)
        return nn_fail(err, NN_ERR_OTHER, "export: cannot run %s: %s (--python names the "
                       "interpreter with torch)", python, strerror(rc));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return nn_fail(err, NN_ERR_OTHER, "export: %s failed to write the ONNX model (exit %d; "
                       "it needs torch, and onnx to check the file)", python,
                       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return NN_OK;
}

static nn_status export_onnx(const char *text, size_t size, const char *python,
                             const char *opset, const char *output, nn_error *err)
{
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX], module[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/nntrain-export.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return nn_fail(err, NN_ERR_OTHER, "%s: cannot create: %s", dir, strerror(errno));
    snprintf(module, sizeof module, "%s/model.py", dir);
    nn_status st = nni_write_file_atomic(module, text, size, err);
    nni_atomic_file target;
    if (!st && !(st = nni_atomic_begin(&target, output, err))) {
        st = run_onnx_export(python, dir, target.tmp_path, opset, err);
        if (st)
            nni_atomic_abort(&target);
        else
            st = nni_atomic_commit(&target, err);
    }
    unlink(module);
    rmdir(dir);
    return st;
}

int nni_cmd_export(int argc, char **argv, const nn_comm *world)
{
    nn_error err = {0};
    nni_cli_args args;
    if (nni_cli_parse(argc, argv, &nni_export_spec, &args, &err))
        return nni_cli_report(world, &err);
    if (args.help)
        return 0;
    const char *format = nni_cli_value(&args, "format") ? nni_cli_value(&args, "format")
                                                        : "torch";
    const char *output = nni_cli_value(&args, "output");
    const char *python = nni_cli_value(&args, "python") ? nni_cli_value(&args, "python")
                                                        : "python3";
    const char *opset = nni_cli_value(&args, "opset") ? nni_cli_value(&args, "opset") : "14";
    int onnx = !strcmp(format, "onnx");
    char *end = NULL;
    long opset_number = strtol(opset, &end, 10);
    if (strcmp(format, "torch") && !onnx)
        nn_fail(&err, NN_ERR_CONFIG, "export: unknown --format '%s' (valid: torch, onnx)",
                format);
    else if (!output)
        nn_fail(&err, NN_ERR_CONFIG, "export: -o OUT is required (see nntrain export --help)");
    else if (*end || end == opset || opset_number < 7 || opset_number > 20)
        nn_fail(&err, NN_ERR_CONFIG, "export: --opset expects a version in [7, 20], got '%s'",
                opset);
    if (err.status)
        return nni_cli_report(world, &err);
    if (world->rank != 0)
        return 0;
    char *text = NULL;
    size_t size = 0;
    nn_status st = torch_module_text(args.operands[0], &text, &size, &err);
    if (!st)
        st = onnx ? export_onnx(text, size, python, opset, output, &err)
                  : nni_write_file_atomic(output, text, size, &err);
    free(text);
    if (st)
        return nni_cli_report(world, &err);
    printf("wrote %s (%s)\n", output, onnx ? "ONNX model" : "PyTorch module; load() reads the "
                                                            "weights from the checkpoint");
    return 0;
}
