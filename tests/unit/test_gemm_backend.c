/* train.gemm (core/gemm_backend.h): `auto` picks nntrain's kernels on a CPU with a tuned set
 * and OpenBLAS elsewhere; the OpenBLAS products agree with nntrain's within 1e-5 relative on
 * the dense layers' shapes (both layouts of A, accumulate or not) and on the convolutions'
 * (forward, input gradient and weight gradient of conv2d layers with strides, padding,
 * dilation, groups, the 1x1 path, the flat stride-1 path and the residual+inception net's
 * shapes); and that the dense layers' results under OpenBLAS do not depend on the thread
 * count although OpenBLAS's products round differently when cut differently (the layers cut
 * them into a fixed number of pieces, nni_gemm_pieces). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"
#include "core/gemm_backend.h"
#include "core/gemm_openblas.h"
#include "core/im2col.h"
#include "core/kernel_set.h"
#include "core/rng.h"
#include "core/threads.h"
#include "gradcheck.h"
#include "model_fixture.h"

static float *random_floats(int64_t n, uint64_t key)
{
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    assert_non_null(p);
    nni_rng rng = nni_rng_stream(13, NNI_RNG_INIT, key, 0, 0);
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)nni_rng_uniform_double(&rng) - 0.5f;
    return p;
}

static float *copy_floats(const float *src, int64_t n)
{
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    assert_non_null(p);
    memcpy(p, src, (size_t)n * sizeof *p);
    return p;
}

static int cpu_has_tuned_set(void)
{
    int count = 0;
    const nni_kernel_set *sets = nni_kernel_sets(&count);
    for (int i = 0; i < count; i++)
        if (sets[i].supported())
            return strcmp(sets[i].name, "generic") != 0;
    return 0;
}

/* ---- the choice ----------------------------------------------------------------------- */

static void test_auto_follows_the_cpu(void **state)
{
    (void)state;
    /* Before any choice: auto. */
    const char *want = cpu_has_tuned_set() ? "nntrain" : "openblas";
    assert_string_equal(nni_gemm_backend_current()->name, want);
    char text[200];
    nni_gemm_backend_describe(text, sizeof text);
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, "train.gemm: auto"));

    nni_gemm_backend_choose(NNI_GEMM_OPENBLAS);
    assert_string_equal(nni_gemm_backend_current()->name, "openblas");
    nni_gemm_backend_describe(text, sizeof text);
    assert_non_null(strstr(text, nni_gemm_core())); /* names OpenBLAS's kernel family */
    assert_non_null(strstr(text, "train.gemm: openblas"));

    nni_gemm_backend_choose(NNI_GEMM_NNTRAIN);
    assert_string_equal(nni_gemm_backend_current()->name, "nntrain");
    nni_gemm_backend_describe(text, sizeof text);
    assert_non_null(strstr(text, nni_kernels()->name));

    nni_gemm_backend_choose(NNI_GEMM_AUTO);
    assert_string_equal(nni_gemm_backend_current()->name, want);
    assert_string_equal(nni_gemm_choices[NNI_GEMM_OPENBLAS], "openblas");
}

/* ---- raw products ---------------------------------------------------------------------- */

/* Every element within 1e-5 of the sum of its terms' magnitudes (and C's, when added to):
 * the relative error that two correct float products can differ by. */
static void assert_agree(const float *got, const float *want, const float *mag, int64_t m,
                         int64_t n, int64_t ld, const char *what)
{
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            const double d = fabs((double)got[i * ld + j] - want[i * ld + j]);
            if (!(d <= 1e-5 * mag[i * ld + j] + 1e-30))
                fail_msg("%s: element (%lld, %lld) is %.9g by OpenBLAS and %.9g by nntrain "
                         "(relative %.3g)", what, (long long)i, (long long)j,
                         (double)got[i * ld + j], (double)want[i * ld + j],
                         d / mag[i * ld + j]);
        }
}

typedef struct dims {
    int64_t m, n, k;
} dims;

/* The dense layers' products: the MLP's (784-256-128-10, batch 128 split over 1 and 2
 * threads), odd edges, K beyond one block, K = 1, and one row. */
static const dims dense_shapes[] = {
    {128, 256, 784}, {64, 256, 784}, {128, 128, 256}, {128, 10, 128}, {10, 128, 64},
    {256, 784, 128}, {1, 1, 1},      {5, 7, 3},       {13, 33, 17},   {7, 50, 600},
    {3, 100, 1},     {1, 40, 30},
};

/* C (+)= A B under one backend, then under the other, from the same start. */
static void test_dense_products_agree(void **state)
{
    (void)state;
    for (size_t s = 0; s < sizeof dense_shapes / sizeof *dense_shapes; s++) {
        const dims d = dense_shapes[s];
        const int64_t ldb = d.n + 2, ldc = d.n + 5, lda = d.k + 3;
        float *a = random_floats(d.m * lda, 1), *b = random_floats(d.k * ldb, 2);
        float *bt = random_floats(d.n * lda, 3);
        float *mag = malloc((size_t)(d.m * ldc) * sizeof *mag);
        assert_non_null(mag);
        for (int variant = 0; variant < 3; variant++)
            for (int accumulate = 0; accumulate <= 1; accumulate++) {
                float *c_blas = random_floats(d.m * ldc, 4), *c_own = random_floats(d.m * ldc, 4);
                const float *c0 = copy_floats(c_own, d.m * ldc);
                /* variant 0: A as stored; 1: A read as the transpose of a K x M matrix;
                 * 2: A B^T (nni_gemm_nt). */
                const int64_t a_rs = variant == 1 ? 1 : lda, a_cs = variant == 1 ? d.m : 1;
                for (int backend = NNI_GEMM_NNTRAIN; backend <= NNI_GEMM_OPENBLAS; backend++) {
                    nni_gemm_backend_choose(backend);
                    float *c = backend == NNI_GEMM_OPENBLAS ? c_blas : c_own;
                    if (variant == 2)
                        nni_gemm_nt(d.m, d.n, d.k, a, lda, bt, lda, c, ldc, accumulate);
                    else
                        nni_gemm_nn(d.m, d.n, d.k, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
                }
                for (int64_t i = 0; i < d.m; i++)
                    for (int64_t j = 0; j < d.n; j++) {
                        double sum = accumulate ? fabs(c0[i * ldc + j]) : 0;
                        for (int64_t q = 0; q < d.k; q++)
                            sum += fabs((double)(variant == 1 ? a[q * d.m + i]
                                                              : a[i * lda + q]) *
                                        (variant == 2 ? bt[j * lda + q] : b[q * ldb + j]));
                        mag[i * ldc + j] = (float)sum;
                    }
                char what[96];
                snprintf(what, sizeof what, "%lld x %lld x %lld, %s, accumulate %d",
                         (long long)d.m, (long long)d.n, (long long)d.k,
                         variant == 0 ? "nn" : variant == 1 ? "nn, A transposed" : "nt",
                         accumulate);
                assert_agree(c_blas, c_own, mag, d.m, d.n, ldc, what);
                /* Columns beyond N are left alone. */
                for (int64_t i = 0; i < d.m; i++)
                    for (int64_t j = d.n; j < ldc; j++)
                        assert_true(c_blas[i * ldc + j] == c0[i * ldc + j]);
                free(c_blas);
                free(c_own);
                free((void *)c0);
            }
        free(a);
        free(b);
        free(bt);
        free(mag);
    }
    nni_gemm_backend_choose(NNI_GEMM_AUTO);
}

/* accumulate = 0 never reads C: NaN there does not leak into the product. */
static void test_overwrite_ignores_nan(void **state)
{
    (void)state;
    nni_gemm_backend_choose(NNI_GEMM_OPENBLAS);
    const int64_t m = 9, n = 20, k = 30;
    float *a = random_floats(m * k, 5), *b = random_floats(k * n, 6);
    float *c = malloc((size_t)(m * n) * sizeof *c);
    assert_non_null(c);
    for (int variant = 0; variant < 3; variant++) {
        for (int64_t i = 0; i < m * n; i++)
            c[i] = NAN;
        if (variant == 0)
            nni_gemm_nn(m, n, k, a, k, 1, b, n, c, n, 0);
        else if (variant == 1)
            nni_gemm_nn(m, n, 0, a, k, 1, b, n, c, n, 0); /* K = 0: zeros */
        else
            nni_gemm_nt(m, n, k, a, k, b, k, c, n, 0); /* b read as n x k */
        for (int64_t i = 0; i < m * n; i++)
            assert_false(isnan(c[i]));
    }
    free(a);
    free(b);
    free(c);
    nni_gemm_backend_choose(NNI_GEMM_AUTO);
}

/* The convolution product through OpenBLAS, whole and a block at a time (its fallback), against
 * nni_im2col and nntrain's product: geometries with several blocks of rows (K > 128) and of
 * columns (P > 256), strides, dilation and padding. */
static void test_conv_products_agree(void **state)
{
    (void)state;
    static const nni_conv_geom geoms[] = {
        /* channels, in_h, in_w, out_h, out_w, kh, kw, sh, sw, dh, dw, pad_top, pad_left */
        {20, 20, 21, 20, 21, 3, 3, 1, 1, 1, 1, 1, 1},  /* same: K 180, P 420 */
        {3, 9, 11, 5, 6, 3, 3, 2, 2, 1, 1, 1, 1},
        {7, 17, 16, 13, 16, 5, 3, 1, 1, 1, 2, 0, 2},
        {64, 14, 14, 14, 14, 5, 5, 1, 1, 1, 1, 2, 2},  /* K 1600 */
        {1, 28, 28, 28, 28, 3, 3, 1, 1, 1, 1, 1, 1},
    };
    const int64_t M = 19;
    for (size_t i = 0; i < sizeof geoms / sizeof *geoms; i++) {
        const nni_conv_geom *g = &geoms[i];
        const int64_t K = nni_conv_geom_col_rows(g), P = g->out_h * g->out_w;
        float *w = random_floats(M * K, 10), *x = random_floats(g->channels * g->in_h * g->in_w,
                                                                11);
        float *col = random_floats(K * P, 12), *mag = malloc((size_t)(M * P) * sizeof *mag);
        assert_non_null(mag);
        nni_im2col(g, x, col);
        for (int64_t m = 0; m < M; m++)
            for (int64_t p = 0; p < P; p++) {
                double sum = 1.0; /* the accumulated start below is 1 */
                for (int64_t k = 0; k < K; k++)
                    sum += fabs((double)w[m * K + k] * col[k * P + p]);
                mag[m * P + p] = (float)sum;
            }
        for (int accumulate = 0; accumulate <= 1; accumulate++) {
            float *want = random_floats(M * P, 13), *whole = random_floats(M * P, 13);
            float *blocked = random_floats(M * P, 13);
            for (int64_t e = 0; accumulate && e < M * P; e++)
                want[e] = whole[e] = blocked[e] = 1.0f;
            nni_kernels()->gemm_nn(M, P, K, w, K, 1, col, P, want, P, accumulate);
            nni_openblas_conv_product(g, M, w, x, whole, accumulate);
            nni_openblas_conv_product_blocked(g, M, w, x, blocked, accumulate);
            char what[96];
            snprintf(what, sizeof what, "convolution %zu (K %lld, P %lld), accumulate %d", i,
                     (long long)K, (long long)P, accumulate);
            assert_agree(whole, want, mag, M, P, P, what);
            assert_agree(blocked, want, mag, M, P, P, what);
            free(want);
            free(whole);
            free(blocked);
        }
        free(w);
        free(x);
        free(col);
        free(mag);
    }
}

/* ---- layers: forward, input gradient, weight gradient ------------------------------------ */

typedef struct pass_result {
    float *out, *dx, *grads;
    int64_t n_out, n_dx, n_grads;
} pass_result;

/* One forward and backward of the model under `backend`, from the same input, dout and
 * parameters every time (the model is rebuilt from its seed); direct: 3x3 and 5x5
 * convolutions as direct products instead of Winograd's (train.winograd: false). */
static pass_result run_model_with(const char *yaml, int64_t batch, int backend, int direct)
{
    nni_gemm_backend_choose(backend);
    nn_model *model = fixture_model(yaml, batch, 3);
    if (!model)
        fail_msg("build failed: %s", yaml);
    model->direct_conv = direct;
    nn_test_fill(nn_model_input(model), batch * nn_model_input_size(model), 21, -1.0f, 1.0f);
    nn_pass pass = {.batch = batch, .training = 1};
    nn_model_forward(model, &pass);
    pass_result r;
    r.n_out = batch * nn_model_output_size(model);
    nn_test_fill(model->output->dout, r.n_out, 22, -1.0f, 1.0f);
    nn_model_backward(model, &pass);
    r.out = copy_floats(model->output->out, r.n_out);
    r.n_dx = batch * nn_model_input_size(model);
    r.dx = copy_floats(model->layers[0]->dout, r.n_dx);
    r.n_grads = model->n_param_floats;
    r.grads = copy_floats(model->grad_data, r.n_grads);
    nn_model_free(model);
    return r;
}

static pass_result run_model(const char *yaml, int64_t batch, int backend)
{
    return run_model_with(yaml, batch, backend, 0);
}

/* Largest difference within `tolerance` of the tensor's largest value. */
static void assert_tensors_agree(const float *blas, const float *own, int64_t n,
                                 const char *what, const char *yaml, double tolerance)
{
    double scale = 0, worst = 0;
    for (int64_t i = 0; i < n; i++) {
        scale = fmax(scale, fabs(own[i]));
        worst = fmax(worst, fabs((double)blas[i] - own[i]));
    }
    if (!(worst <= tolerance * scale))
        fail_msg("%s of %s: OpenBLAS and nntrain differ by %.3g (relative %.3g)", what, yaml,
                 worst, worst / scale);
}

/* The products of the two backends agree within 1e-5 (the direct convolutions); through
 * Winograd's transforms within 3e-5: F(2x2, 5x5) combines up to 36 inputs with coefficients
 * up to 5 before the products, which widens the products' rounding differences (1.05e-5
 * seen on the generic kernels for 64 -> 64 channels at 14 x 14). */
static void compare_backends(const char *yaml, int64_t batch)
{
    for (int direct = 1; direct >= 0; direct--) {
        const double tolerance = direct ? 1e-5 : 3e-5;
        pass_result own = run_model_with(yaml, batch, NNI_GEMM_NNTRAIN, direct);
        pass_result blas = run_model_with(yaml, batch, NNI_GEMM_OPENBLAS, direct);
        assert_tensors_agree(blas.out, own.out, own.n_out, "forward", yaml, tolerance);
        assert_tensors_agree(blas.dx, own.dx, own.n_dx, "input gradient", yaml, tolerance);
        assert_tensors_agree(blas.grads, own.grads, own.n_grads, "parameter gradients", yaml,
                             tolerance);
        free(own.out);
        free(own.dx);
        free(own.grads);
        free(blas.out);
        free(blas.dx);
        free(blas.grads);
    }
    nni_gemm_backend_choose(NNI_GEMM_AUTO);
}

static void test_dense_layers_agree(void **state)
{
    (void)state;
    compare_backends("{input: [784], layers: [{type: dense, units: 256, activation: relu}, "
                     "{type: dense, units: 128, activation: relu}, {type: dense, units: 10}]}",
                     64);
    compare_backends("{input: [33], layers: [{type: dense, units: 7}, {type: dense, units: 1}]}",
                     5);
}

static void test_conv_layers_agree(void **state)
{
    (void)state;
    static const char *const convs[] = {
        "kernel: 3",                                   /* valid: im2col + gemm */
        "kernel: 3, padding: same",                    /* flat: nni_conv_flat_product */
        "kernel: [2, 3], padding: same",
        "kernel: 3, padding: [0, 0, 1, 1]",            /* flat with explicit padding */
        "kernel: 3, padding: 1, stride: 2",
        "kernel: 2, stride: [2, 3], padding: same",
        "kernel: 3, dilation: [2, 1], padding: same",
        "kernel: 1",                                   /* direct: x itself as the matrix */
        "kernel: 1, activation: relu",                 /* a fused activation */
        "kernel: 3, activation: relu",
        "kernel: 1, stride: 2",
        "kernel: 5, padding: 2",
        "kernel: 3, padding: same, groups: 2",
        "kernel: 3, padding: same, bias: false",
    };
    for (size_t i = 0; i < sizeof convs / sizeof *convs; i++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml, "{input: [4, 9, 11], layers: [{type: conv2d, filters: 6, "
                 "%s}]}", convs[i]);
        compare_backends(yaml, 3);
    }
    /* The residual+inception net's shapes: 64 -> 64 channels, 3x3 on 28x28 and 5x5 on
     * 14x14 (K = 576 and 1600: several of OpenBLAS's row blocks). */
    compare_backends("{input: [64, 28, 28], layers: [{type: conv2d, filters: 64, kernel: 3, "
                     "padding: same}]}", 2);
    compare_backends("{input: [64, 14, 14], layers: [{type: conv2d, filters: 64, kernel: 5, "
                     "padding: same}]}", 2);
    /* The small CNN's first layers on Fashion-MNIST images. */
    compare_backends("{input: [1, 28, 28], layers: [{type: conv2d, filters: 16, kernel: 3, "
                     "padding: same, activation: relu}, {type: maxpool, size: 2}, "
                     "{type: conv2d, filters: 32, kernel: 3, padding: same}]}", 4);
}

/* OpenBLAS's products are not cut invariant here (a product and the same product cut in two
 * rows apart differ in some bits on the cores this was written on), which is why the dense
 * layers cut them into fixed pieces; with that, 1 to 4 threads give the same bits, for a
 * layer split by rows (fewer units than rows) and one split by units. */
static void test_openblas_dense_thread_count_invariant(void **state)
{
    (void)state;
    nni_gemm_backend_choose(NNI_GEMM_NNTRAIN);
    assert_int_equal(nni_gemm_backend_current()->cut_invariant, 1);
    assert_int_equal(nni_gemm_pieces(3), 3);
    nni_gemm_backend_choose(NNI_GEMM_OPENBLAS);
    assert_int_equal(nni_gemm_backend_current()->cut_invariant, 0);
    assert_int_equal(nni_gemm_pieces(1), NNI_GEMM_FIXED_PIECES);
    assert_int_equal(nni_gemm_pieces(2), NNI_GEMM_FIXED_PIECES);
    assert_int_equal(nni_gemm_pieces(NNI_GEMM_FIXED_PIECES + 3), NNI_GEMM_FIXED_PIECES + 3);
    const char *yaml = "{input: [784], layers: [{type: dense, units: 256, activation: relu}, "
                       "{type: dense, units: 30, activation: tanh}, {type: dense, units: 10}]}";
    nni_set_threads(1);
    pass_result one = run_model(yaml, 64, NNI_GEMM_OPENBLAS);
    for (int threads = 2; threads <= 4; threads++) {
        nni_set_threads(threads);
        pass_result more = run_model(yaml, 64, NNI_GEMM_OPENBLAS);
        assert_memory_equal(one.out, more.out, (size_t)one.n_out * sizeof(float));
        assert_memory_equal(one.dx, more.dx, (size_t)one.n_dx * sizeof(float));
        assert_memory_equal(one.grads, more.grads, (size_t)one.n_grads * sizeof(float));
        free(more.out);
        free(more.dx);
        free(more.grads);
    }
    free(one.out);
    free(one.dx);
    free(one.grads);
    nni_set_threads(1);
    nni_gemm_backend_choose(NNI_GEMM_AUTO);
}

/* The start-up note on OpenBLAS's kernels: written for a pre-AVX2 core on a CPU with wider
 * vectors (naming the core type that uses them), not for OpenBLAS's AVX2/AVX-512 cores nor
 * on a CPU with nothing wider; and the widest set is one of the CPU's. */
static void test_openblas_core_note(void **state)
{
    (void)state;
    char note[320] = "";
    assert_int_equal(nni_openblas_core_note("Prescott", "avx512", note, sizeof note), 1);
    assert_non_null(strstr(note, "its Prescott kernels"));
    assert_non_null(strstr(note, "OPENBLAS_CORETYPE=SkylakeX"));
    assert_int_equal(nni_openblas_core_note("Nehalem", "avx2", note, sizeof note), 1);
    assert_non_null(strstr(note, "OPENBLAS_CORETYPE=Haswell"));
    assert_int_equal(nni_openblas_core_note("Prescott", "generic", note, sizeof note), 0);
    assert_int_equal(nni_openblas_core_note("SkylakeX", "avx512", note, sizeof note), 0);
    assert_int_equal(nni_openblas_core_note("Haswell", "avx512", note, sizeof note), 0);
    assert_int_equal(nni_openblas_core_note("Zen", "avx2", note, sizeof note), 0);
    int count = 0, found = 0;
    const nni_kernel_set *sets = nni_kernel_sets(&count);
    for (int i = 0; i < count; i++)
        if (sets[i].supported() && !found) {
            assert_string_equal(nni_kernels_widest(), sets[i].name);
            found = 1;
        }
    assert_true(found);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_follows_the_cpu),
        cmocka_unit_test(test_dense_products_agree),
        cmocka_unit_test(test_overwrite_ignores_nan),
        cmocka_unit_test(test_conv_products_agree),
        cmocka_unit_test(test_dense_layers_agree),
        cmocka_unit_test(test_conv_layers_agree),
        cmocka_unit_test(test_openblas_dense_thread_count_invariant),
        cmocka_unit_test(test_openblas_core_note),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
