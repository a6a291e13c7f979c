/* The PyTorch module text of a model (model/export_torch.c): one LAYERS row per layer with
 * its constructor and input indices, one PARAMETERS row per parameter and state tensor, the
 * checkpoint path quoted for Python. The ref test (tests/ref/test_export_torch.py) runs the
 * module against nntrain's predictions; this checks the text, also under the sanitizers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/export_torch.h"
#include "nn/config.h"
#include "nn/model.h"

static const char model_yaml[] =
    "input: [2, 6, 6]\n"
    "layers:\n"
    "  - {name: c, type: conv2d, filters: 4, kernel: 2, padding: same, activation: prelu}\n"
    "  - {name: bn, type: batchnorm, momentum: 0.2}\n"
    "  - {name: p, type: avgpool, size: 3, stride: 2, padding: 1, count_include_pad: false}\n"
    "  - {name: m, type: maxpool, size: 3, stride: 2, padding: 1, inputs: [bn]}\n"
    "  - {name: cat, type: concat, inputs: [p, m]}\n"
    "  - {name: g, type: global_avgpool}\n"
    "  - {name: h, type: dense, units: 5, bias: false, activation: {type: leaky_relu, alpha: 0.25}}\n"
    "  - {name: s, type: log_softmax}\n";

static char *export_text(const char *yaml, const char *checkpoint, nn_model **model)
{
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    if (nn_cfg_load_string(yaml, "m.yaml", &cfg, &err) ||
        nn_model_build(cfg, 4, 1, 0, model, &err))
        fail_msg("%s", err.msg);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    if (nni_model_write_torch(*model, checkpoint, out, &err))
        fail_msg("%s", err.msg);
    fclose(out);
    nn_cfg_free(cfg);
    return text;
}

static void test_module_text(void **state)
{
    (void)state;
    nn_model *model = NULL;
    char *text = export_text(model_yaml, "/runs/a \"b\"/last.h5", &model);
    static const char *const wanted[] = {
        "CHECKPOINT = \"/runs/a \\\"b\\\"/last.h5\"\n",
        "INPUT_SHAPE = (2, 6, 6, )\n",
        "(Conv2d((0, 1, 0, 1), 2, 4, (2, 2), stride=(1, 1), dilation=(1, 1), groups=1, "
        "bias=True), [0]),  # 1: c\n",
        "(nn.PReLU(4), [1]),  # 2: c.prelu\n",
        "(nn.BatchNorm2d(4, eps=1.0000000000000001e-05, momentum=0.20000000000000001), [2]),",
        "(Pool2d(\"avg\", (3, 3), (2, 2), (1, 1, 1, 1), count_include_pad=False), [3]),",
        "(Pool2d(\"max\", (3, 3), (2, 2), (1, 1, 1, 1), count_include_pad=False), [3]),",
        "(Concat(), [4, 5]),",
        "(GlobalAvgPool(), [6]),",
        "(Dense(8, 5, bias=False), [7]),",
        "(Elementwise(\"leaky_relu\", lambda x, alpha=0.25, beta=0: F.leaky_relu(x, alpha)), "
        "[8]),",
        "(Softmax(log=True), [9]),  # 10: s\n",
        "OUTPUT = 10\n",
        "(1, \"params\", \"c/weight\"),\n",
        "(3, \"state\", \"bn/running_var\"),\n",
        "(8, \"params\", \"h/weight\"),\n]\n",
    };
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++)
        if (!strstr(text, wanted[i]))
            fail_msg("missing: %s\n--- text:\n%s", wanted[i], text);
    /* One PARAMETERS row per tensor of the parameter table. */
    const char *rows = strstr(text, "PARAMETERS = [");
    assert_non_null(rows);
    int count = 0;
    for (const char *p = rows; (p = strstr(p, "\", \"")) != NULL; p++)
        count++;
    assert_int_equal(count, model->n_params);
    free(text);
    nn_model_free(model);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_module_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
