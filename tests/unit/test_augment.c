/* Training-batch augmentation: reproducible for a seed, different across epochs and
 * samples, whole-pixel shifts equal the hand-shifted image with zero fill (every offset in
 * [-S, S]^2 occurs), flipping twice is the identity, rotation keeps the centre and maps a
 * centred disc onto itself, noise has the configured standard deviation, and bad settings
 * are config errors naming the key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/augment.h"
#include "nn/config.h"
#include "nn/data.h"

enum { C = 2, H = 7, W = 9, SIZE = C * H * W, ROWS = 400 };

static nni_augment make(const char *yaml, nn_shape shape)
{
    nn_cfg *cfg = NULL;
    nn_error err = {0};
    nni_augment aug;
    assert_int_equal(nn_cfg_parse_value(yaml, "augment.yaml", &cfg, &err), NN_OK);
    if (nni_augment_parse(cfg, shape, &aug, &err))
        fail_msg("%s: %s", yaml, err.msg);
    nn_cfg_free(cfg);
    return aug;
}

/* Distinct positive values: 1 + index. */
static void fill_batch(float *x, int64_t rows)
{
    for (int64_t i = 0; i < rows * SIZE; i++)
        x[i] = (float)(1 + i % SIZE) + 0.001f * (float)(i / SIZE);
}

static int64_t ids[ROWS];

static void augment(const char *yaml, float *x, int64_t rows, uint64_t seed, uint32_t epoch)
{
    nni_augment aug = make(yaml, nn_shape_3d(C, H, W));
    nni_augment_batch(&aug, x, rows, ids, seed, epoch);
    nni_augment_free(&aug);
}

static void test_reproducible(void **state)
{
    (void)state;
    const char *all = "{shift: 2, flip: true, rotate: 15, noise: 0.1}";
    static float a[ROWS * SIZE], b[ROWS * SIZE], c[ROWS * SIZE], d[ROWS * SIZE];
    fill_batch(a, ROWS);
    fill_batch(b, ROWS);
    fill_batch(c, ROWS);
    fill_batch(d, ROWS);
    augment(all, a, ROWS, 42, 3);
    augment(all, b, ROWS, 42, 3);
    augment(all, c, ROWS, 42, 4);
    augment(all, d, ROWS, 43, 3);
    assert_memory_equal(a, b, sizeof a);
    int differ_epoch = 0, differ_seed = 0;
    for (int64_t r = 0; r < ROWS; r++) {
        differ_epoch += memcmp(a + r * SIZE, c + r * SIZE, SIZE * sizeof(float)) != 0;
        differ_seed += memcmp(a + r * SIZE, d + r * SIZE, SIZE * sizeof(float)) != 0;
    }
    assert_int_equal(differ_epoch, ROWS);
    assert_int_equal(differ_seed, ROWS);

    /* A sample's augmentation depends on its global index only, not on its position in the
     * batch (so not on which rank holds it). */
    static float single[SIZE];
    fill_batch(single, 1);
    for (int i = 0; i < SIZE; i++)
        single[i] += 0.001f * 17;
    int64_t saved = ids[0];
    ids[0] = 17;
    nni_augment aug = make(all, nn_shape_3d(C, H, W));
    nni_augment_batch(&aug, single, 1, ids, 42, 3);
    nni_augment_free(&aug);
    ids[0] = saved;
    assert_memory_equal(single, a + 17 * SIZE, sizeof single);
}

/* The shift (dx, dy) that explains out, checked against the hand-shifted image. */
static void find_shift(const float *in, const float *out, int64_t limit, int64_t *found_dx,
                       int64_t *found_dy)
{
    for (int64_t dy = -limit; dy <= limit; dy++)
        for (int64_t dx = -limit; dx <= limit; dx++) {
            int same = 1;
            for (int64_t c = 0; c < C && same; c++)
                for (int64_t y = 0; y < H && same; y++)
                    for (int64_t x = 0; x < W && same; x++) {
                        int64_t sx = x + dx, sy = y + dy;
                        float want = sx >= 0 && sx < W && sy >= 0 && sy < H
                                         ? in[(c * H + sy) * W + sx] : 0.0f;
                        same = out[(c * H + y) * W + x] == want;
                    }
            if (same) {
                *found_dx = dx;
                *found_dy = dy;
                return;
            }
        }
    fail_msg("the shifted image is no whole-pixel shift within %lld", (long long)limit);
}

static void test_shift(void **state)
{
    (void)state;
    static float in[ROWS * SIZE], out[ROWS * SIZE];
    fill_batch(in, ROWS);
    memcpy(out, in, sizeof in);
    augment("{shift: 2}", out, ROWS, 7, 0);
    int seen[5][5] = {{0}};
    for (int64_t r = 0; r < ROWS; r++) {
        int64_t dx = 99, dy = 99;
        find_shift(in + r * SIZE, out + r * SIZE, 2, &dx, &dy);
        seen[dy + 2][dx + 2]++;
    }
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
            if (seen[i][j] < 4) /* 400 draws over 25 offsets: 16 expected */
                fail_msg("offset (%d, %d) drawn %d times", j - 2, i - 2, seen[i][j]);

    /* A hand-computed case: a 1 x 3 x 3 image shifted by (dx, dy) = (1, -1) reads
     * out[y][x] = in[y - 1][x + 1]. */
    const float image[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const float expected[9] = {0, 0, 0, 2, 3, 0, 5, 6, 0};
    for (int64_t id = 0; id < 1000; id++) {
        float x[9];
        memcpy(x, image, sizeof x);
        nni_augment aug = make("{shift: 1}", nn_shape_3d(1, 3, 3));
        nni_augment_batch(&aug, x, 1, &id, 5, 0);
        nni_augment_free(&aug);
        if (x[4] == 3) { /* the centre shows in[0][2]: this draw is (1, -1) */
            assert_memory_equal(x, expected, sizeof x);
            return;
        }
    }
    fail_msg("no sample drew the shift (1, -1)");
}

static void test_flip(void **state)
{
    (void)state;
    static float in[ROWS * SIZE], once[ROWS * SIZE], twice[ROWS * SIZE];
    fill_batch(in, ROWS);
    memcpy(once, in, sizeof in);
    augment("{flip: true}", once, ROWS, 3, 1);
    memcpy(twice, once, sizeof in);
    augment("{flip: true}", twice, ROWS, 3, 1); /* same draws: the same samples flip back */
    assert_memory_equal(twice, in, sizeof in);
    int flipped = 0;
    for (int64_t r = 0; r < ROWS; r++) {
        const float *a = in + r * SIZE, *b = once + r * SIZE;
        int mirrored = 1, same = memcmp(a, b, SIZE * sizeof(float)) == 0;
        for (int64_t c = 0; c < C; c++)
            for (int64_t y = 0; y < H; y++)
                for (int64_t x = 0; x < W; x++)
                    mirrored &= b[(c * H + y) * W + x] == a[(c * H + y) * W + (W - 1 - x)];
        assert_true(mirrored || same);
        flipped += mirrored;
    }
    /* p = 1/2: 400 draws give 200 +- 10; allow 5 standard deviations. */
    if (flipped < 150 || flipped > 250)
        fail_msg("%d of %d samples flipped", flipped, ROWS);
}

static void test_rotate(void **state)
{
    (void)state;
    /* A centred disc of radius 5 in a 1 x 15 x 15 image, anti-aliased by its distance. */
    enum { N = 15, P = N * N };
    static float disc[P], x[ROWS * P];
    for (int y = 0; y < N; y++)
        for (int i = 0; i < N; i++) {
            double r = hypot(y - 7.0, i - 7.0);
            disc[y * N + i] = (float)fmin(1.0, fmax(0.0, 5.5 - r));
        }
    for (int r = 0; r < ROWS; r++)
        memcpy(x + r * P, disc, sizeof disc);
    nni_augment aug = make("{rotate: 30}", nn_shape_3d(1, N, N));
    nni_augment_batch(&aug, x, ROWS, ids, 11, 2);
    nni_augment_free(&aug);
    int changed = 0;
    for (int r = 0; r < ROWS; r++) {
        const float *img = x + r * P;
        double diff = 0;
        for (int i = 0; i < P; i++)
            diff = fmax(diff, fabs(img[i] - disc[i]));
        assert_float_equal(img[7 * N + 7], 1.0f, 1e-6); /* the centre stays */
        assert_true(diff < 0.35);                       /* a disc rotates into itself */
        changed += diff > 1e-3;
        for (int i = 0; i < N; i++) /* far from the disc: zero fill stays zero */
            assert_float_equal(img[i], 0.0f, 1e-6);
    }
    assert_true(changed > ROWS / 2);

    /* An off-centre dot moves along a circle: its distance to the centre is kept. */
    for (int64_t id = 0; id < 50; id++) {
        float dot[P] = {0};
        dot[7 * N + 12] = 1; /* 5 pixels right of the centre */
        nni_augment rot = make("{rotate: 90}", nn_shape_3d(1, N, N));
        nni_augment_batch(&rot, dot, 1, &id, 1, 0);
        nni_augment_free(&rot);
        double mass = 0, mx = 0, my = 0;
        for (int y = 0; y < N; y++)
            for (int i = 0; i < N; i++) {
                mass += dot[y * N + i];
                mx += dot[y * N + i] * i;
                my += dot[y * N + i] * y;
            }
        double radius = hypot(mx / mass - 7, my / mass - 7);
        if (fabs(radius - 5) > 0.6 || mass < 0.5 || mass > 1.5)
            fail_msg("sample %lld: dot at radius %.3f with mass %.3f", (long long)id, radius,
                     mass);
    }
}

static void test_noise(void **state)
{
    (void)state;
    static float x[ROWS * SIZE];
    memset(x, 0, sizeof x);
    augment("{noise: 0.05}", x, ROWS, 9, 0);
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < ROWS * SIZE; i++) {
        sum += x[i];
        sq += (double)x[i] * x[i];
    }
    double n = ROWS * SIZE, mean = sum / n, std = sqrt(sq / n - mean * mean);
    /* 50400 draws: standard error of the std 0.3%, of the mean 2.2e-4. */
    if (fabs(std - 0.05) > 0.05 * 0.015 || fabs(mean) > 1.2e-3)
        fail_msg("noise mean %g std %g, expected 0 and 0.05", mean, std);

    /* Noise alone works on flat samples too. */
    float flat[6] = {1, 2, 3, 4, 5, 6};
    nni_augment aug = make("{noise: 0.5}", nn_shape_1d(6));
    int64_t id = 4;
    nni_augment_batch(&aug, flat, 1, &id, 1, 0);
    nni_augment_free(&aug);
    assert_true(flat[0] != 1 && fabsf(flat[0] - 1) < 3);
}

static void test_disabled(void **state)
{
    (void)state;
    static float a[ROWS * SIZE], b[ROWS * SIZE];
    fill_batch(a, ROWS);
    fill_batch(b, ROWS);
    augment("{shift: 0, flip: false, rotate: 0, noise: 0}", a, ROWS, 1, 0);
    assert_memory_equal(a, b, sizeof a);
    nni_augment none;
    nn_error err = {0};
    assert_int_equal(nni_augment_parse(NULL, nn_shape_3d(C, H, W), &none, &err), NN_OK);
    assert_int_equal(none.enabled, 0);
    nni_augment_batch(&none, a, ROWS, ids, 1, 0);
    assert_memory_equal(a, b, sizeof a);
    nni_augment_free(&none);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        int flat;
        const char *expect;
    } cases[] = {
        {"{shift: -1}", 0, "augment.yaml:1:9: shift: must be in [0, 7) pixels"},
        {"{shift: 7}", 0, "shift: must be in [0, 7)"},
        {"{shift: 1.5}", 0, "shift: expected an integer"},
        {"{flip: maybe}", 0, "flip: expected"},
        {"{rotate: 200}", 0, "rotate: must be in [0, 180] degrees"},
        {"{noise: -0.1}", 0, "noise: must be a standard deviation >= 0"},
        {"{flipp: true}", 0, "unknown key 'flipp' (did you mean 'flip'?)"},
        {"{shift: 2}", 1, "shift: needs image samples (channels, height, width); the samples "
                          "are (6)"},
        {"{flip: true}", 1, "flip: needs image samples"},
        {"[1]", 0, "expected a map"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_cfg *cfg = NULL;
        nn_error err = {0};
        nni_augment aug;
        assert_int_equal(nn_cfg_parse_value(cases[i].yaml, "augment.yaml", &cfg, &err), NN_OK);
        nn_status st = nni_augment_parse(cfg, cases[i].flat ? nn_shape_1d(6)
                                                           : nn_shape_3d(C, H, W), &aug, &err);
        if (st != NN_ERR_CONFIG || !strstr(err.msg, cases[i].expect))
            fail_msg("'%s': status %d, message '%s'", cases[i].yaml, st, err.msg);
        nn_cfg_free(cfg);
    }
}

int main(void)
{
    for (int64_t i = 0; i < ROWS; i++)
        ids[i] = i;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reproducible), cmocka_unit_test(test_shift),
        cmocka_unit_test(test_flip),         cmocka_unit_test(test_rotate),
        cmocka_unit_test(test_noise),        cmocka_unit_test(test_disabled),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
