/* bf16 products with float accumulation (see gemm_bf16.h for the arithmetic).
 *
 * Blocking: K in blocks of KC (KC_AMX on AMX's path; even, so a pair never straddles two
 * blocks), M in blocks of MC rows, N in blocks of NC columns. Per K block and M block, A's
 * block is packed once into panels of MR = 8 rows (MC = 256: a dense layer's weight
 * gradient for 256 units packs its B once, not twice; AMX's panels: core/gemm_bf16_amx.h),
 * each K pair of a row one 32-bit word (the even k in the low half, as vdpbf16ps reads it);
 * then each of B's blocks likewise into panels of NR = 32 columns (or B's owner writes them:
 * a flat convolution's, straight from the image). The K blocks run in ascending order and C
 * holds the float sums between them, so every element of C adds its pairs in the same order
 * whatever the blocking or the caller's split.
 *
 * The native path converts with vcvtne2ps2bf16 and multiplies with vdpbf16ps (functions
 * compiled for AVX512_BF16 by target attributes, chosen at run time); the emulated path does
 * the same arithmetic in plain C on the same panels. tests/unit/test_gemm_bf16.c checks that
 * both give the same bits. */
#include "core/gemm_bf16.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/bf16_words.h"
#include "core/gemm.h"
#include "core/gemm_bf16_amx.h"
#include "core/product_time.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define BF16_X86 1
#include <immintrin.h>
#endif

enum { MR = 8, NR = 32, KC = 256, NC = 256, MC = 256 };

/* AMX's K blocks: longer, since C's tiles go through memory between blocks and AMX's
 * multiply-adds are fast enough for those trips to show (the 5x5 layer's forward of the
 * residual+inception net took 2.9 ms with blocks of 256, 2.4 with 1024). The sums' bits do
 * not depend on it: each tile step still takes 16 pairs from a multiple of 32 in K. */
enum { KC_AMX = 1024 };

typedef struct bf16_panels {
    uint32_t *a; /* MC x block_k()/2 pairs */
    uint32_t *b; /* block_k()/2 pairs x NC */
} bf16_panels;

static bf16_panels *panels;
static int n_panels;
static int64_t panels_k; /* the K block the panels were allocated for */
enum bf16_path { PATH_NONE = -1, PATH_EMULATED, PATH_NATIVE, PATH_AMX };
static enum bf16_path path = PATH_NONE;

uint16_t nni_bf16_from_float(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7f800000u) == 0)
        return (uint16_t)((u >> 16) & 0x8000u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float nni_bf16_to_float(uint16_t h)
{
    const uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* One pair word: bf16(lo) in the low half, bf16(hi) in the high half. */
static uint32_t pair(float lo, float hi)
{
    return (uint32_t)nni_bf16_from_float(lo) | (uint32_t)nni_bf16_from_float(hi) << 16;
}

int nni_bf16_native_supported(void)
{
#ifdef BF16_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

nn_status nni_bf16_select(nn_error *err)
{
    const char *wanted = getenv("NN_BF16");
    if (wanted && !strcmp(wanted, "emulated")) {
        path = PATH_EMULATED;
        return NN_OK;
    }
    const int automatic = !wanted || !*wanted || !strcmp(wanted, "auto");
    if (!automatic && strcmp(wanted, "native") && strcmp(wanted, "amx"))
        return nn_fail(err, NN_ERR_CONFIG, "NN_BF16=%s: unknown bf16 path (valid: auto, "
                       "amx, native, emulated)", wanted);
    if (!automatic && !strcmp(wanted, "amx") && !nni_amx_bf16_supported())
        return nn_fail(err, NN_ERR_CONFIG, "NN_BF16=amx: this CPU (or its kernel) does not "
                       "offer AMX-BF16's tiles; NN_BF16=auto picks the fastest path it has");
    if (!nni_bf16_native_supported())
        return nn_fail(err, NN_ERR_CONFIG, "train.precision: bf16 needs the AVX512_BF16 "
                       "instructions (vdpbf16ps), which this CPU lacks; NN_BF16=emulated runs "
                       "the same arithmetic in plain C, many times slower");
    if (automatic)
        path = nni_amx_bf16_supported() ? PATH_AMX : PATH_NATIVE;
    else
        path = !strcmp(wanted, "amx") ? PATH_AMX : PATH_NATIVE;
    return NN_OK;
}

int nni_bf16_native_chosen(void)
{
    return path == PATH_NATIVE;
}

int nni_bf16_amx_chosen(void)
{
    return path == PATH_AMX;
}

const char *nni_bf16_describe(void)
{
    switch (path) {
    case PATH_AMX:
        return "AMX (tdpbf16ps tiles; NN_BF16=native for vdpbf16ps)";
    case PATH_NATIVE:
        return "native (AVX512_BF16 vdpbf16ps)";
    case PATH_EMULATED:
        return "emulated (plain C, slow; NN_BF16=emulated)";
    default:
        return "not chosen";
    }
}

/* The chosen path's K block. */
static int64_t block_k(void)
{
    return path == PATH_AMX ? KC_AMX : KC;
}

nn_status nni_gemm_bf16_plan(int threads, nn_error *err)
{
    if (path == PATH_NONE) {
        nn_status st = nni_bf16_select(err);
        if (st)
            return st;
    }
    if (block_k() > panels_k) { /* a longer K block than the panels hold: all anew */
        for (int i = 0; i < n_panels; i++) {
            free(panels[i].a);
            free(panels[i].b);
        }
        n_panels = 0;
        panels_k = block_k();
    }
    if (threads <= n_panels)
        return NN_OK;
    bf16_panels *grown = realloc(panels, (size_t)threads * sizeof *grown);
    if (!grown)
        return nn_fail(err, NN_ERR_OTHER, "out of memory for the bf16 packing panels");
    panels = grown;
    for (; n_panels < threads; n_panels++) {
        bf16_panels *p = &panels[n_panels];
        p->a = aligned_alloc(64, (size_t)MC * (size_t)(panels_k / 2) * sizeof *p->a);
        p->b = aligned_alloc(64, (size_t)(panels_k / 2) * NC * sizeof *p->b);
        if (!p->a || !p->b) {
            free(p->a);
            free(p->b);
            return nn_fail(err, NN_ERR_OTHER, "out of memory for the bf16 packing panels");
        }
    }
    return NN_OK;
}

/* ---- packing ---- */

/* Rows [0, rows) of A's block (K from k0, `pairs` pairs, K values beyond K read as zero) into
 * panels of MR rows: panel i holds pair p of its row r at [i][p][r]; rows past `rows` are
 * zero. */
static void pack_a_plain(const float *A, int64_t a_rs, int64_t a_cs, int64_t rows, int64_t k0,
                         int64_t pairs, int64_t K, uint32_t *out)
{
    for (int64_t i = 0; i * MR < rows; i++) {
        uint32_t *panel = out + i * MR * pairs;
        for (int r = 0; r < MR; r++) {
            const int64_t m = i * MR + r;
            const float *row = A + m * a_rs;
            for (int64_t p = 0; p < pairs; p++) {
                const int64_t k = k0 + 2 * p;
                panel[p * MR + r] = m >= rows ? 0
                                    : pair(row[k * a_cs], k + 1 < K ? row[(k + 1) * a_cs] : 0.0f);
            }
        }
    }
}

/* Columns [0, cols) of B's block likewise into panels of NR columns: [j][p][c]. Every K
 * value beyond K reads as zero, whole pairs included, since AMX's panels round their pairs
 * up to a multiple of 16 (so do all of B's packers and sources). */
static void pack_b_plain(const float *B, int64_t b_rs, int64_t b_cs, int64_t cols, int64_t k0,
                         int64_t pairs, int64_t K, uint32_t *out)
{
    for (int64_t j = 0; j * NR < cols; j++) {
        uint32_t *panel = out + j * NR * pairs;
        for (int64_t p = 0; p < pairs; p++) {
            const int64_t k = k0 + 2 * p;
            const float *r0 = B + k * b_rs, *r1 = B + (k + 1) * b_rs;
            for (int c = 0; c < NR; c++) {
                const int64_t n = j * NR + c;
                panel[p * NR + c] = n >= cols || k >= K
                                    ? 0
                                    : pair(r0[n * b_cs], k + 1 < K ? r1[n * b_cs] : 0.0f);
            }
        }
    }
}

/* ---- the emulated arithmetic of vdpbf16ps ---- */

static float flush_denormal(float x)
{
    return fabsf(x) < 1.17549435e-38f ? copysignf(0.0f, x) : x;
}

static float low_half(uint32_t w)
{
    return nni_bf16_to_float((uint16_t)(w & 0xffffu));
}

static float high_half(uint32_t w)
{
    return nni_bf16_to_float((uint16_t)(w >> 16));
}

/* C tile (rows x cols of one MR x NR panel pair) (+)= the panels' product over `pairs`.
 * Each product is added unrounded (fmaf): the product of two bf16 numbers is exact in float
 * unless it underflows, and then the instruction still rounds the exact sum once, which
 * decides the sign of a result that flushes to zero. */
static void tile_emulated(int64_t pairs, const uint32_t *a, const uint32_t *b, float *C,
                          int64_t ldc, int rows, int cols, int load_c)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            float sum = load_c ? flush_denormal(C[r * ldc + c]) : 0.0f;
            for (int64_t p = 0; p < pairs; p++) {
                const uint32_t wa = a[p * MR + r], wb = b[p * NR + c];
                sum = flush_denormal(fmaf(high_half(wa), high_half(wb), sum));
                sum = flush_denormal(fmaf(low_half(wa), low_half(wb), sum));
            }
            C[r * ldc + c] = sum;
        }
}

/* ---- the native kernels ---- */

#ifdef BF16_X86
#define BF16_TARGET NNI_BF16_TARGET

/* A tile of at most 16 columns (the last panel of a row 196 pixels wide holds 4): one
 * accumulator per row, half the instructions of the full tile. */
BF16_TARGET static void tile_native_half(int64_t pairs, const uint32_t *a, const uint32_t *b,
                                         float *C, int64_t ldc, int rows, int cols, int load_c)
{
    const __mmask16 m0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
    __m512 acc[MR];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++)
        acc[r] = load_c && r < rows ? _mm512_maskz_loadu_ps(m0, C + r * ldc)
                                    : _mm512_setzero_ps();
    for (int64_t p = 0; p < pairs; p++) {
        const __m512bh b0 = (__m512bh)_mm512_load_si512(b + p * NR);
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++)
            acc[r] = _mm512_dpbf16_ps(acc[r], (__m512bh)_mm512_set1_epi32((int)a[p * MR + r]),
                                      b0);
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++)
        if (r < rows)
            _mm512_mask_storeu_ps(C + r * ldc, m0, acc[r]);
}

BF16_TARGET static void tile_native(int64_t pairs, const uint32_t *a, const uint32_t *b,
                                    float *C, int64_t ldc, int rows, int cols, int load_c)
{
    if (cols <= 16) {
        tile_native_half(pairs, a, b, C, ldc, rows, cols, load_c);
        return;
    }
    const __mmask16 m0 = cols >= 16 ? 0xffff : (__mmask16)((1u << cols) - 1);
    const __mmask16 m1 = cols >= 32 ? 0xffff
                         : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
    __m512 acc[MR][2];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        acc[r][0] = _mm512_setzero_ps();
        acc[r][1] = _mm512_setzero_ps();
        if (load_c && r < rows) {
            acc[r][0] = _mm512_maskz_loadu_ps(m0, C + r * ldc);
            acc[r][1] = _mm512_maskz_loadu_ps(m1, C + r * ldc + 16);
        }
    }
    for (int64_t p = 0; p < pairs; p++) {
        const __m512bh b0 = (__m512bh)_mm512_load_si512(b + p * NR);
        const __m512bh b1 = (__m512bh)_mm512_load_si512(b + p * NR + 16);
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            const __m512bh av = (__m512bh)_mm512_set1_epi32((int)a[p * MR + r]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++)
        if (r < rows) {
            _mm512_mask_storeu_ps(C + r * ldc, m0, acc[r][0]);
            _mm512_mask_storeu_ps(C + r * ldc + 16, m1, acc[r][1]);
        }
}

/* pack_b_plain for rows of B contiguous in n (b_cs == 1). */
BF16_TARGET static void pack_b_rows(const float *B, int64_t b_rs, int64_t cols, int64_t k0,
                                    int64_t pairs, int64_t K, uint32_t *out)
{
    for (int64_t j = 0; j * NR < cols; j++) {
        uint32_t *panel = out + j * NR * pairs;
        for (int h = 0; h < 2; h++) {
            const int64_t n = j * NR + h * 16;
            const int64_t left = cols - n;
            const __mmask16 m = left >= 16 ? 0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
            for (int64_t p = 0; p < pairs; p++) {
                const int64_t k = k0 + 2 * p;
                const __m512 lo = k < K ? _mm512_maskz_loadu_ps(m, B + k * b_rs + n)
                                        : _mm512_setzero_ps();
                const __m512 hi = k + 1 < K ? _mm512_maskz_loadu_ps(m, B + (k + 1) * b_rs + n)
                                            : _mm512_setzero_ps();
                _mm512_store_si512(panel + p * NR + h * 16, nni_bf16_pair_words(lo, hi));
            }
        }
    }
}

/* pack_b_plain for columns of B contiguous in k (b_rs == 1, B^T's rows): 16 columns' 32
 * consecutive K values become 16 x 16 pair words, transposed into the panel. */
BF16_TARGET static void pack_b_cols(const float *B, int64_t b_cs, int64_t cols, int64_t k0,
                                    int64_t pairs, int64_t K, uint32_t *out)
{
    for (int64_t j = 0; j * NR < cols; j++) {
        uint32_t *panel = out + j * NR * pairs;
        for (int h = 0; h < NR; h += 16)
            for (int64_t p = 0; p < pairs; p += 16) {
                const int64_t k = k0 + 2 * p;
                __m512i r[16];
                for (int c = 0; c < 16; c++) {
                    const int64_t n = j * NR + h + c;
                    r[c] = nni_bf16_line_words(B + (n < cols ? n : 0) * b_cs + k,
                                               n < cols ? K - k : 0);
                }
                nni_bf16_transpose16(r);
                const int64_t count = pairs - p < 16 ? pairs - p : 16;
                for (int64_t i = 0; i < count; i++)
                    _mm512_store_si512(panel + (p + i) * NR + h, r[i]);
            }
    }
}

/* pack_a for rows of A contiguous in k (a_cs == 1): 16 rows (two panels) at a time, as
 * pack_b_cols. */
BF16_TARGET static void pack_a_rows(const float *A, int64_t a_rs, int64_t rows, int64_t k0,
                                    int64_t pairs, int64_t K, uint32_t *out)
{
    for (int64_t i = 0; i * MR < rows; i += 2) {
        uint32_t *first = out + i * MR * pairs;
        uint32_t *second = rows > (i + 1) * MR ? first + MR * pairs : NULL;
        for (int64_t p = 0; p < pairs; p += 16) {
            const int64_t k = k0 + 2 * p;
            __m512i r[16];
            for (int c = 0; c < 16; c++) {
                const int64_t m = i * MR + c;
                r[c] = nni_bf16_line_words(A + (m < rows ? m : 0) * a_rs + k,
                                           m < rows ? K - k : 0);
            }
            nni_bf16_transpose16(r);
            const int64_t count = pairs - p < 16 ? pairs - p : 16;
            for (int64_t q = 0; q < count; q++) {
                _mm256_storeu_si256((__m256i *)(first + (p + q) * MR),
                                    _mm512_castsi512_si256(r[q]));
                if (second)
                    _mm256_storeu_si256((__m256i *)(second + (p + q) * MR),
                                        _mm512_extracti64x4_epi64(r[q], 1));
            }
        }
    }
}

/* pack_a for columns of A contiguous in m (a_rs == 1, A^T's rows): 16 rows of K values k and
 * k + 1 become the pair words of two panels. */
BF16_TARGET static void pack_a_cols(const float *A, int64_t a_cs, int64_t rows, int64_t k0,
                                    int64_t pairs, int64_t K, uint32_t *out)
{
    for (int64_t i = 0; i * MR < rows; i += 2) {
        const int64_t left = rows - i * MR;
        const __mmask16 m = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
        uint32_t *first = out + i * MR * pairs;
        uint32_t *second = left > MR ? first + MR * pairs : NULL;
        for (int64_t p = 0; p < pairs; p++) {
            const int64_t k = k0 + 2 * p;
            const __m512 lo = _mm512_maskz_loadu_ps(m, A + i * MR + k * a_cs);
            const __m512 hi = k + 1 < K ? _mm512_maskz_loadu_ps(m, A + i * MR + (k + 1) * a_cs)
                                        : _mm512_setzero_ps();
            const __m512i words = nni_bf16_pair_words(lo, hi);
            _mm256_storeu_si256((__m256i *)(first + p * MR), _mm512_castsi512_si256(words));
            if (second)
                _mm256_storeu_si256((__m256i *)(second + p * MR),
                                    _mm512_extracti64x4_epi64(words, 1));
        }
    }
}
#endif

static void pack_a(const float *A, int64_t a_rs, int64_t a_cs, int64_t rows, int64_t k0,
                   int64_t pairs, int64_t K, uint32_t *out)
{
#ifdef BF16_X86
    if (path == PATH_NATIVE && a_cs == 1) {
        pack_a_rows(A, a_rs, rows, k0, pairs, K, out);
        return;
    }
    if (path == PATH_NATIVE && a_rs == 1) {
        pack_a_cols(A, a_cs, rows, k0, pairs, K, out);
        return;
    }
#endif
    pack_a_plain(A, a_rs, a_cs, rows, k0, pairs, K, out);
}

static void pack_b(const float *B, int64_t b_rs, int64_t b_cs, int64_t cols, int64_t k0,
                   int64_t pairs, int64_t K, uint32_t *out)
{
#ifdef BF16_X86
    if (path >= PATH_NATIVE && b_cs == 1) {
        pack_b_rows(B, b_rs, cols, k0, pairs, K, out);
        return;
    }
    if (path >= PATH_NATIVE && b_rs == 1) {
        pack_b_cols(B, b_cs, cols, k0, pairs, K, out);
        return;
    }
#endif
    pack_b_plain(B, b_rs, b_cs, cols, k0, pairs, K, out);
}

/* ---- B as the lowered matrix of a flat convolution (nni_bf16_flat_conv_pack) ----
 * Row k = (c, ki, kj) of im2col at pixel n reads x[c][n + (ki d_h - pad_top) W + kj d_w -
 * pad_left] when the tap falls inside the image, else 0 (stride 1, out_w == in_w == W). */

typedef struct flat_tap {
    int64_t offset;     /* from x to the value at pixel 0 (may lie outside x) */
    int64_t dy, dx;     /* ki d_h - pad_top, kj d_w - pad_left */
    int64_t tap;        /* ki kw + kj */
} flat_tap;

static flat_tap tap_of(const nni_conv_geom *g, int64_t k)
{
    const int64_t kk = g->kernel_h * g->kernel_w, r = k % kk;
    flat_tap t;
    t.tap = r;
    t.dy = r / g->kernel_w * g->dilation_h - g->pad_top;
    t.dx = r % g->kernel_w * g->dilation_w - g->pad_left;
    t.offset = k / kk * g->in_h * g->in_w + t.dy * g->in_w + t.dx;
    return t;
}

static float tap_value(const nni_conv_geom *g, const float *x, flat_tap t, int64_t n)
{
    const int64_t iy = n / g->out_w + t.dy, ix = n % g->out_w + t.dx;
    return iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w ? 0.0f : x[t.offset + n];
}

static void flat_conv_pack_plain(const nni_conv_geom *g, const float *x, int64_t k0,
                                 int64_t pairs, int64_t n0, int64_t cols, uint32_t *out)
{
    const int64_t K = nni_conv_geom_col_rows(g);
    for (int64_t p = 0; p < pairs; p++) {
        const int64_t k = k0 + 2 * p;
        const flat_tap lo = tap_of(g, k), hi = tap_of(g, k + 1);
        for (int64_t c = 0; c < (cols + NR - 1) / NR * NR; c++)
            out[c / NR * NR * pairs + p * NR + c % NR] =
                c >= cols || k >= K
                    ? 0
                    : pair(tap_value(g, x, lo, n0 + c),
                           k + 1 < K ? tap_value(g, x, hi, n0 + c) : 0.0f);
    }
}

#ifdef BF16_X86
/* 16 pixels of a tap: the lanes in `live` whose tap falls inside the image (oy, ox: the
 * lanes' output row and column), loaded; the rest zero. The address of a lane that is not
 * loaded may lie outside x, so it is formed as an integer. */
BF16_TARGET static __mmask16 tap_mask(const nni_conv_geom *g, flat_tap t, __mmask16 live,
                                     __m512i oy, __m512i ox)
{
    /* 0 <= i < n as one unsigned comparison: a negative i wraps above n. */
    const __m512i iy = _mm512_add_epi32(oy, _mm512_set1_epi32((int)t.dy));
    const __m512i ix = _mm512_add_epi32(ox, _mm512_set1_epi32((int)t.dx));
    return _mm512_mask_cmplt_epu32_mask(
        _mm512_mask_cmplt_epu32_mask(live, iy, _mm512_set1_epi32((int)g->in_h)), ix,
        _mm512_set1_epi32((int)g->in_w));
}

BF16_TARGET static __m512 tap_lanes(const float *x, flat_tap t, int64_t n, __mmask16 m)
{
    const uintptr_t at = (uintptr_t)x + (uintptr_t)((t.offset + n) * (int64_t)sizeof *x);
    return _mm512_maskz_loadu_ps(m, (const void *)at);
}

/* The 16 pixels from n: the lanes of those before `end`, and each lane's output row and
 * column (W pixels a row; W may be narrower than 16). */
BF16_TARGET static __mmask16 pixel_lanes(int64_t n, int64_t end, int64_t W, __m512i *oy,
                                         __m512i *ox)
{
    int32_t row[16], col[16];
    for (int i = 0; i < 16; i++) {
        row[i] = (int32_t)((n + i) / W);
        col[i] = (int32_t)((n + i) % W);
    }
    *oy = _mm512_loadu_si512(row);
    *ox = _mm512_loadu_si512(col);
    const int64_t left = end - n;
    return left >= 16 ? 0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
}

BF16_TARGET static void flat_conv_pack_native(const nni_conv_geom *g, const float *x,
                                              int64_t k0, int64_t pairs, int64_t n0,
                                              int64_t cols, uint32_t *out)
{
    const int64_t K = nni_conv_geom_col_rows(g), W = g->out_w;
    const int segments = (int)((cols + NR - 1) / NR * NR / 16); /* at most NC / 16 */
    __m512i oy[NC / 16], ox[NC / 16];
    __mmask16 live[NC / 16];
    for (int s = 0; s < segments; s++)
        live[s] = pixel_lanes(n0 + s * 16, n0 + cols, W, &oy[s], &ox[s]);
    /* The lanes each tap reads, once per block when the kernel is small enough. */
    enum { TABLE_TAPS = 64 };
    const int64_t kk = g->kernel_h * g->kernel_w;
    __mmask16 table[TABLE_TAPS][NC / 16];
    for (int64_t r = 0; kk <= TABLE_TAPS && r < kk; r++)
        for (int s = 0; s < segments; s++)
            table[r][s] = tap_mask(g, tap_of(g, r), live[s], oy[s], ox[s]);
    for (int64_t p = 0; p < pairs; p++) {
        const int64_t k = k0 + 2 * p;
        const flat_tap lo = tap_of(g, k), hi = tap_of(g, k + 1);
        for (int s = 0; s < segments; s++) {
            const int64_t n = n0 + s * 16;
            const __mmask16 ml = kk <= TABLE_TAPS ? table[lo.tap][s]
                                                  : tap_mask(g, lo, live[s], oy[s], ox[s]);
            const __mmask16 mh = kk <= TABLE_TAPS ? table[hi.tap][s]
                                                  : tap_mask(g, hi, live[s], oy[s], ox[s]);
            const __m512 l = k < K ? tap_lanes(x, lo, n, ml) : _mm512_setzero_ps();
            const __m512 h = k + 1 < K ? tap_lanes(x, hi, n, mh) : _mm512_setzero_ps();
            _mm512_store_si512(out + s / 2 * NR * pairs + p * NR + s % 2 * 16,
                               nni_bf16_pair_words(l, h));
        }
    }
}
#endif

/* ---- A as the lowered matrix, for a flat convolution's weight gradient on AMX ----
 * A(m, k) = im2col(x)[m][k]: the rows are the lowered rows, K runs over the pixels. A row's
 * 32 pixels from k are one tap's run of x (the lanes outside the image zero), and AMX's A
 * panels hold a row's pairs in order: the run's bf16 values as they stand, no interleaving
 * or turning (core/gemm_bf16_amx.h's layout: row m of the block at m * pairs). */
#ifdef BF16_X86
BF16_TARGET static void flat_conv_rows_amx(const void *ctx, int64_t k0, int64_t pairs,
                                           int64_t m0, int64_t rows, uint32_t *out)
{
    const nni_bf16_flat_conv *fc = ctx;
    const nni_conv_geom *g = fc->geom;
    const int64_t K = g->out_h * g->out_w, W = g->out_w, kk = g->kernel_h * g->kernel_w;
    const int64_t padded = (rows + NNI_AMX_ROWS - 1) / NNI_AMX_ROWS * NNI_AMX_ROWS;
    /* The lanes each tap reads in each run of 32 pixels, for the whole block first, so that
     * each row is then written front to back (its tap found once): by runs across all the
     * rows, the rows' stores went to as many lines, none in L1, and the pass took longer
     * than the product. */
    enum { TABLE_TAPS = 64, RUNS = KC_AMX / 32 };
    const int64_t runs = (pairs + 15) / 16;
    __mmask16 table[RUNS][TABLE_TAPS][2];
    for (int64_t run = 0; kk <= TABLE_TAPS && run < runs; run++)
        for (int s = 0; s < 2; s++) {
            __m512i oy, ox;
            const __mmask16 live = pixel_lanes(k0 + 32 * run + 16 * s, K, W, &oy, &ox);
            for (int64_t r = 0; r < kk; r++)
                table[run][r][s] = tap_mask(g, tap_of(g, r), live, oy, ox);
        }
    for (int64_t m = 0; m < padded; m++) {
        uint32_t *line = out + m * pairs;
        if (m >= rows) {
            for (int64_t p0 = 0; p0 < pairs; p0 += 16)
                _mm512_store_si512(line + p0, _mm512_setzero_si512());
            continue;
        }
        const flat_tap t = tap_of(g, m0 + m);
        for (int64_t run = 0; run < runs; run++) {
            const int64_t k = k0 + 32 * run;
            __mmask16 l[2];
            for (int s = 0; s < 2; s++) {
                if (kk <= TABLE_TAPS) {
                    l[s] = table[run][t.tap][s];
                    continue;
                }
                /* A kernel of more taps than the table: this run's lanes for this tap. */
                __m512i oy, ox;
                const __mmask16 live = pixel_lanes(k + 16 * s, K, W, &oy, &ox);
                l[s] = tap_mask(g, t, live, oy, ox);
            }
            _mm512_store_si512(line + 16 * run,
                               (__m512i)_mm512_cvtne2ps_pbh(tap_lanes(fc->x, t, k + 16, l[1]),
                                                            tap_lanes(fc->x, t, k, l[0])));
        }
    }
}
#endif

static void flat_conv_pack(const void *ctx, int64_t k0, int64_t pairs, int64_t n0,
                           int64_t cols, uint32_t *out)
{
    const nni_bf16_flat_conv *fc = ctx;
#ifdef BF16_X86
    if (path >= PATH_NATIVE) {
        flat_conv_pack_native(fc->geom, fc->x, k0, pairs, n0, cols, out);
        return;
    }
#endif
    flat_conv_pack_plain(fc->geom, fc->x, k0, pairs, n0, cols, out);
}

typedef void (*tile_fn)(int64_t pairs, const uint32_t *a, const uint32_t *b, float *C,
                        int64_t ldc, int rows, int cols, int load_c);

/* A block of a factor made by its owner: the panels packing would write for K pairs from
 * k0 and B's columns [first, first + count) (or A's rows, on AMX's path only). */
typedef void (*source_fn)(const void *ctx, int64_t k0, int64_t pairs, int64_t first,
                          int64_t count, uint32_t *out);

/* One factor of a product: a matrix in memory, element (i, k) of A or (k, i) of B at
 * p[i * step_i + k * step_k], or a source of its packed blocks. */
typedef struct factor {
    const float *p;
    int64_t step_i, step_k;
    source_fn source;
    const void *ctx;
} factor;

/* The product with each factor packed a block at a time, or made by its source. */
static void product(int64_t M, int64_t N, int64_t K, const factor *a, const factor *b,
                    float *C, int64_t ldc, int accumulate)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) {
        for (int64_t m = 0; m < M && !accumulate; m++)
            memset(C + m * ldc, 0, (size_t)N * sizeof *C);
        return;
    }
    const int64_t begin = nni_product_time_begin();
    const bf16_panels *pp = &panels[omp_get_thread_num()];
    const int amx = path == PATH_AMX;
    tile_fn tile = tile_emulated;
#ifdef BF16_X86
    if (path == PATH_NATIVE)
        tile = tile_native;
#endif
    if (amx)
        nni_amx_begin();
    const int64_t kc_max = block_k();
    for (int64_t k0 = 0; k0 < K; k0 += kc_max) {
        const int64_t kc = K - k0 < kc_max ? K - k0 : kc_max;
        /* AMX's tiles take 16 pairs at a time: KC_AMX is a multiple of 32, so only the last
         * block's pairs are rounded up (with zeros), the same for any range of C. */
        const int64_t pairs = amx ? ((kc + 1) / 2 + NNI_AMX_PAIRS - 1) / NNI_AMX_PAIRS *
                                        NNI_AMX_PAIRS
                                  : (kc + 1) / 2;
        const int load_c = accumulate || k0 > 0;
        for (int64_t m0 = 0; m0 < M; m0 += MC) {
            const int64_t mc = M - m0 < MC ? M - m0 : MC;
            if (a->source)
                a->source(a->ctx, k0, pairs, m0, mc, pp->a);
            else if (amx)
                nni_amx_pack_a(a->p + m0 * a->step_i, a->step_i, a->step_k, mc, k0, pairs, K,
                               pp->a);
            else
                pack_a(a->p + m0 * a->step_i, a->step_i, a->step_k, mc, k0, pairs, K, pp->a);
            for (int64_t n0 = 0; n0 < N; n0 += NC) {
                const int64_t nc = N - n0 < NC ? N - n0 : NC;
                if (b->source)
                    b->source(b->ctx, k0, pairs, n0, nc, pp->b);
                else
                    pack_b(b->p + n0 * b->step_i, b->step_k, b->step_i, nc, k0, pairs, K,
                           pp->b);
                if (amx) {
                    nni_amx_product_block(pairs, pp->a, pp->b, C + m0 * ldc + n0, ldc, mc, nc,
                                          load_c);
                    continue;
                }
                for (int64_t j = 0; j * NR < nc; j++)
                    for (int64_t i = 0; i * MR < mc; i++) {
                        const int64_t rows = mc - i * MR < MR ? mc - i * MR : MR;
                        const int64_t cols = nc - j * NR < NR ? nc - j * NR : NR;
                        tile(pairs, pp->a + i * MR * pairs, pp->b + j * NR * pairs,
                             C + (m0 + i * MR) * ldc + n0 + j * NR, ldc, (int)rows, (int)cols,
                             load_c);
                    }
            }
        }
    }
    if (amx)
        nni_amx_end();
    nni_product_time_end(begin);
}

void nni_gemm_bf16(int64_t M, int64_t N, int64_t K, const float *A, int64_t a_rs,
                   int64_t a_cs, const float *B, int64_t b_rs, int64_t b_cs, float *C,
                   int64_t ldc, int accumulate)
{
    const factor a = {.p = A, .step_i = a_rs, .step_k = a_cs};
    const factor b = {.p = B, .step_i = b_cs, .step_k = b_rs};
    product(M, N, K, &a, &b, C, ldc, accumulate);
}

void nni_gemm_bf16_flat_conv(int64_t M, const float *A, int64_t lda,
                             const nni_bf16_flat_conv *conv, float *C, int accumulate)
{
    const nni_conv_geom *g = conv->geom;
    const int64_t pixels = g->out_h * g->out_w;
    const factor a = {.p = A, .step_i = lda, .step_k = 1};
    const factor b = {.source = flat_conv_pack, .ctx = conv};
    product(M, pixels, nni_conv_geom_col_rows(g), &a, &b, C, pixels, accumulate);
}

int nni_gemm_bf16_flat_conv_weight_grad(int64_t N, const nni_bf16_flat_conv *conv,
                                         const float *dy, float *C, int64_t ldc)
{
#ifdef BF16_X86
    if (path != PATH_AMX)
        return 0;
    const nni_conv_geom *g = conv->geom;
    const int64_t pixels = g->out_h * g->out_w;
    const factor a = {.source = flat_conv_rows_amx, .ctx = conv};
    const factor b = {.p = dy, .step_i = pixels, .step_k = 1};
    product(nni_conv_geom_col_rows(g), N, pixels, &a, &b, C, ldc, 1);
    return 1;
#else
    (void)N, (void)conv, (void)dy, (void)C, (void)ldc;
    return 0;
#endif
}

void nni_product_nn(int bf16, int64_t M, int64_t N, int64_t K, const float *A, int64_t a_rs,
                    int64_t a_cs, const float *B, int64_t ldb, float *C, int64_t ldc,
                    int accumulate)
{
    if (bf16)
        nni_gemm_bf16(M, N, K, A, a_rs, a_cs, B, ldb, 1, C, ldc, accumulate);
    else
        nni_gemm_nn(M, N, K, A, a_rs, a_cs, B, ldb, C, ldc, accumulate);
}

void nni_product_nt(int bf16, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                    const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate)
{
    if (bf16)
        nni_gemm_bf16(M, N, K, A, lda, 1, B, 1, ldb, C, ldc, accumulate);
    else
        nni_gemm_nt(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
}
