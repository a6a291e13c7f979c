/* The products of the convolution and dense layers (nni_gemm_nn, nni_gemm_nt).
 *
 * nni_gemm_nn: C (MR x NR tiles) accumulates rank-1 updates, one per k: NR/VEC vector loads
 * of B's row k times MR broadcast elements of A's column k. MR x NR/VEC accumulators fill
 * most of the vector registers (24 of 32 with AVX-512, 12 of 16 with AVX2). k runs in blocks
 * of KC so the KC x NR panel of B stays in L1 while it serves every tile row of A. Tiles
 * at the right edge read and write B and C in place through masks (AVX-512, when the
 * product also has full panels), or else work on a zero-padded copy of B's last columns and
 * a private C tile (panel_product).
 * With AVX-512, products of 6 rows or more first run panels of 64 columns by tiles of 6 x 4
 * vectors (wide_panels), the 12 x 2 tiles taking the columns left over.
 * This file is compiled once per kernel set (core/kernel_set.h): VEC and MR follow the
 * set's vector width. It is compiled with floating-point contraction (-ffp-contract=fast, see
 * CMakeLists.txt), so the multiply-adds become FMAs where the set has them.
 *
 * nni_gemm_nt reads B transposed (the dense layer's forward, x W^T): it copies each NR x KC
 * block of B into a k-major panel first, then runs the same tiles.
 *
 * Every element of C sums its k terms in order, one FMA each, whatever M, N and the tile
 * it falls in: a product cut into row or column ranges (one per thread) gives the same bits
 * as the whole.
 *
 * Why not cblas_sgemm: the convolutions' products are small (M = 16..64 output channels)
 * and OpenBLAS packs both operands on every call; with the kernels it runs here
 * (OPENBLAS_CORETYPE may pin AVX2 ones) it reaches 60-80 GFLOP/s on them, this loop 110-160
 * on one AVX-512 core (tests/bench/bench_gemm prints both). The dense layers' products run
 * about as fast either way in a loop of their own, but in the MLP's training step on a
 * first-generation EPYC the backward is 9% faster this way (bench_step: 2.45 -> 2.23 ms at
 * batch 128; OpenBLAS also clears dW before accumulating into it), and OpenBLAS's kernels
 * prefetch beyond the operands they packed, into pages of its buffer that no product has
 * touched: on a virtual machine each such prefetch costs a failed page walk, which made
 * the forward 2.8x slower there once the backward no longer called OpenBLAS. */
#include "core/gemm.h"

#include <string.h>

#include "core/im2col.h"
#include "core/kernel_set.h"
#include "core/prefetch.h"
#include "core/relu.h"
#include "core/transpose16.h"
#include "parallel/unit_tree.h"
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#if defined(__AVX512F__)
#define VEC 16
#define MR 12
#elif defined(__AVX__)
#define VEC 8
#define MR 6
#else
#define VEC 4
#define MR 4
#endif
#define NV 2              /* vectors per tile row */
#define NR (NV * VEC)     /* tile columns */
#define KC 256            /* k block: a KC x NR panel of B is 32 KiB with AVX-512 */
#if defined(__AVX512F__)
#define WIDE_NV 4         /* wide tiles (wide_panels): 6 rows of 4 vectors */
#define WIDE_MR 6
#define WIDE_KC 128       /* their k block: a WIDE_KC x 64 panel of B is 32 KiB */
#else
#define WIDE_NV NV
#endif

typedef float vfloat __attribute__((vector_size(VEC * sizeof(float))));

static inline vfloat load(const float *p)
{
    vfloat v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store(float *p, vfloat v)
{
    memcpy(p, &v, sizeof v);
}

/* Lanes of the last vector of a tile: all of them, or (AVX-512, at the right edge) the
 * first n % VEC. A masked load reads nothing beyond them and gives zeros there; a masked
 * store writes only them. */
#if defined(__AVX512F__)
#define MASKED_EDGES 1
typedef __mmask16 lanes_t;
#define ALL_LANES ((lanes_t)0xffff)
static inline vfloat load_lanes(const float *p, lanes_t lanes)
{
    return (vfloat)_mm512_maskz_loadu_ps(lanes, p);
}
static inline void store_lanes(float *p, vfloat v, lanes_t lanes)
{
    _mm512_mask_storeu_ps(p, lanes, (__m512)v);
}
#else
#define MASKED_EDGES 0
typedef unsigned lanes_t;
#define ALL_LANES 0u
static inline vfloat load_lanes(const float *p, lanes_t lanes)
{
    (void)lanes;
    return load(p);
}
static inline void store_lanes(float *p, vfloat v, lanes_t lanes)
{
    (void)lanes;
    store(p, v);
}
#endif

/* Where the sums of a product's rows start and where they go besides C
 * (nni_gemm_nn_bias_relu), its pointers at a tile's first row and column: bias[m] is row
 * m's starting value when the product does not accumulate (NULL: zero); relu(C) is stored
 * at relu with C's row stride (NULL: not), and C itself only without relu_only. */
typedef struct rows_out {
    const float *bias;
    float *relu;
    int relu_only;
} rows_out;

/* *o moved to row `row` and column `col` of C, in *at; NULL stays NULL. */
static const rows_out *rows_out_at(const rows_out *o, int64_t row, int64_t col, int64_t ldc,
                                   rows_out *at)
{
    if (!o)
        return NULL;
    *at = (rows_out){o->bias ? o->bias + row : NULL, o->relu ? o->relu + row * ldc + col : NULL,
                     o->relu_only};
    return at;
}

/* The part of *o a block of k applies (in *blk): the bias in the first block, relu and
 * relu_only in the last; NULL when neither. */
static const rows_out *rows_out_block(const rows_out *o, int first, int last, rows_out *blk)
{
    if (!o || (!first && !last))
        return NULL;
    *blk = (rows_out){first ? o->bias : NULL, last ? o->relu : NULL, last && o->relu_only};
    return blk;
}

static inline vfloat splat(float s)
{
    vfloat v;
    for (int l = 0; l < VEC; l++)
        v[l] = s;
    return v;
}

NNI_DEFINE_VECTOR_RELU(relu, vfloat, VEC)

/* One mr x (nv * VEC) tile of C over kc values of k. mr, nv and edge are constants at every
 * call site, so the accumulators are registers. edge (AVX-512 only): the tile's last vector
 * covers only `last` lanes of B and C, read and written through masks straight in the
 * operands; its other lanes sum zeros and are never stored. Every lane that is stored gets
 * the arithmetic of a full tile: the same bits. with_out (a constant too): out applies, as
 * rows_out says (a tile without it keeps no more registers than it needs); starting from the
 * bias in the registers gives the bits of adding the product to C filled with it, without
 * that pass over C. */
static inline __attribute__((always_inline)) void tile(const int mr, const int nv, int edge,
                                                       lanes_t last, int64_t kc,
                                                       const float *restrict a, int64_t a_rs,
                                                       int64_t a_cs, const float *restrict b,
                                                       int64_t ldb, float *restrict c,
                                                       int64_t ldc, int accumulate,
                                                       const int with_out, const rows_out *out)
{
    const float *bias = with_out && !accumulate ? out->bias : NULL;
    vfloat acc[MR][WIDE_NV];
    for (int m = 0; m < mr; m++)
        for (int v = 0; v < nv; v++) {
            const float *cv = c + m * ldc + v * VEC;
            acc[m][v] = bias                    ? splat(bias[m])
                        : !accumulate           ? (vfloat){0}
                        : edge && v == nv - 1 ? load_lanes(cv, last)
                                              : load(cv);
        }
    for (int64_t k = 0; k < kc; k++) {
        vfloat bv[WIDE_NV];
        for (int v = 0; v < nv; v++)
            bv[v] = edge && v == nv - 1 ? load_lanes(b + k * ldb + v * VEC, last)
                                        : load(b + k * ldb + v * VEC);
        for (int m = 0; m < mr; m++) {
            const float s = a[m * a_rs + k * a_cs];
            for (int v = 0; v < nv; v++)
                acc[m][v] += bv[v] * s;
        }
    }
    float *relu_out = with_out ? out->relu : NULL;
    const int keep_c = !relu_out || !out->relu_only;
    for (int m = 0; m < mr; m++)
        for (int v = 0; v < nv; v++) {
            if (edge && v == nv - 1) {
                if (keep_c)
                    store_lanes(c + m * ldc + v * VEC, acc[m][v], last);
                if (relu_out)
                    store_lanes(relu_out + m * ldc + v * VEC, relu(acc[m][v]), last);
            } else {
                if (keep_c)
                    store(c + m * ldc + v * VEC, acc[m][v]);
                if (relu_out)
                    store(relu_out + m * ldc + v * VEC, relu(acc[m][v]));
            }
        }
}

_Static_assert(NV == 2, "tile_rows picks between one vector and NV");

#define TILE_CASE(n, w)                                                                        \
    case n:                                                                                    \
        if (last != ALL_LANES)                                                                 \
            if (nv == 1)                                                                       \
                tile(n, 1, 1, last, kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, w, out);   \
            else                                                                               \
                tile(n, NV, 1, last, kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, w, out);  \
        else if (nv == 1)                                                                      \
            tile(n, 1, 0, last, kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, w, out);       \
        else                                                                                   \
            tile(n, NV, 0, last, kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, w, out);      \
        break;
#define PLAIN_CASE(n) TILE_CASE(n, 0)
#define OUT_CASE(n) TILE_CASE(n, 1)

/* One CASE(n) for each tile height n up to MR. */
#if MR > 6
#define ROW_CASES(CASE)                                                                        \
    CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8) CASE(9) CASE(10) CASE(11)  \
    CASE(12)
#elif MR > 4
#define ROW_CASES(CASE) CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6)
#else
#define ROW_CASES(CASE) CASE(1) CASE(2) CASE(3) CASE(4)
#endif

/* A function running the tiles of mr rows through one CASE per height (CASES). */
#define ROWS_FUNCTION(name, CASES, CASE)                                                       \
    static void name(int mr, int nv, lanes_t last, int64_t kc, const float *a, int64_t a_rs,   \
                     int64_t a_cs, const float *b, int64_t ldb, float *c, int64_t ldc,         \
                     int accumulate, const rows_out *out)                                      \
    {                                                                                          \
        switch (mr) {                                                                          \
            CASES(CASE)                                                                        \
        default:                                                                               \
            break;                                                                             \
        }                                                                                      \
    }

/* name(..., out): the tiles of mr rows, without out (name_plain) or with it (name_out). Two
 * copies, so that the plain products' tiles carry nothing for out: with one copy taking out
 * at run time, the products between Winograd's transforms ran 35-48% slower in bench_gemm. */
#define ROWS_FUNCTIONS(name, CASES, PLAIN, OUT)                                                \
    ROWS_FUNCTION(name##_plain, CASES, PLAIN)                                                  \
    ROWS_FUNCTION(name##_out, CASES, OUT)                                                      \
    static void name(int mr, int nv, lanes_t last, int64_t kc, const float *a, int64_t a_rs,   \
                     int64_t a_cs, const float *b, int64_t ldb, float *c, int64_t ldc,         \
                     int accumulate, const rows_out *out)                                      \
    {                                                                                          \
        if (out)                                                                               \
            name##_out(mr, nv, last, kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, out);      \
        else                                                                                   \
            name##_plain(mr, nv, last, kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, NULL);   \
    }

ROWS_FUNCTIONS(tile_rows, ROW_CASES, PLAIN_CASE, OUT_CASE)

/* C[:, j..j+n) (+)= A B_panel over one k block, where the panel holds NR columns with row
 * stride ldb. n < NR (the right edge) runs tiles as few vectors wide as cover n (a
 * 14-pixel-wide image's 196 columns end in 4: one vector, not two). `masked` (AVX-512 only):
 * their last vector is masked (tile()), reading B and C in place; otherwise they go through a
 * private tile of C, and the panel's columns from n on must then be zeros (they only feed
 * that private tile). The masked tiles made a product of 16 x 196 x 64 10-15% faster, but a
 * product narrower than one panel (the weight gradient of a layer with one input channel:
 * N = 1 or 9, K = 784) ran at half its speed with them: callers mask only the right edge of
 * a product that has full panels too (and nni_gemm_nn only for few rows).
 * The M rows are cut into tiles as equal as can be, each at most MR: 64 rows run as six
 * tiles of 10 or 11 rows rather than five of 12 and one of 4, whose 8 accumulators would
 * leave the FMA units waiting on latency. Neither choice changes a result: every element
 * sums its k terms in order whatever tile it falls in. out: rows_out at the panel's first
 * column, or NULL. */
static void panel_product(int64_t M, int64_t n, int64_t kc, const float *a, int64_t a_rs,
                          int64_t a_cs, const float *b, int64_t ldb, float *c, int64_t ldc,
                          int acc, int masked, const rows_out *out)
{
    const int64_t tiles = (M + MR - 1) / MR;
    rows_out at;
    if (n == NR) {
        for (int64_t t = 0; t < tiles; t++) {
            const int64_t i = M * t / tiles;
            tile_rows((int)(M * (t + 1) / tiles - i), NV, ALL_LANES, kc, a + i * a_rs, a_rs,
                      a_cs, b, ldb, c + i * ldc, ldc, acc, rows_out_at(out, i, 0, ldc, &at));
        }
        return;
    }
    const int nv = (int)((n + VEC - 1) / VEC);
#if defined(__AVX512F__)
    if (masked) {
        const int64_t rest = n - (nv - 1) * VEC;
        const lanes_t last = rest == VEC ? ALL_LANES : (lanes_t)((1u << rest) - 1);
        for (int64_t t = 0; t < tiles; t++) {
            const int64_t i = M * t / tiles;
            tile_rows((int)(M * (t + 1) / tiles - i), nv, last, kc, a + i * a_rs, a_rs, a_cs,
                      b, ldb, c + i * ldc, ldc, acc, rows_out_at(out, i, 0, ldc, &at));
        }
        return;
    }
#else
    (void)masked;
#endif
    /* The private tile takes the bias; relu follows from the rows copied out. */
    float c_tail[MR * NR];
    memset(c_tail, 0, sizeof c_tail);
    for (int64_t t = 0; t < tiles; t++) {
        const int64_t i = M * t / tiles;
        const int mr = (int)(M * (t + 1) / tiles - i);
        float *ci = c + i * ldc;
        if (acc)
            for (int m = 0; m < mr; m++)
                memcpy(c_tail + m * NR, ci + m * ldc, (size_t)n * sizeof *c);
        const rows_out *o = rows_out_at(out, i, 0, ldc, &at);
        rows_out bias_only = {o ? o->bias : NULL, NULL, 0};
        tile_rows(mr, nv, ALL_LANES, kc, a + i * a_rs, a_rs, a_cs, b, ldb, c_tail, NR, acc,
                  o ? &bias_only : NULL);
        for (int m = 0; m < mr; m++) {
            memcpy(ci + m * ldc, c_tail + m * NR, (size_t)n * sizeof *c);
            for (int64_t q = 0; o && o->relu && q < n; q++)
                o->relu[m * ldc + q] = nni_relu(c_tail[m * NR + q]);
        }
    }
}

static void zero_rows(int64_t M, int64_t N, float *C, int64_t ldc)
{
    for (int64_t m = 0; m < M; m++)
        memset(C + m * ldc, 0, (size_t)N * sizeof *C);
}

#if defined(__AVX512F__)
#define WIDE_CASE(n, w)                                                                        \
    case n:                                                                                    \
        if (nv == 4 && last == ALL_LANES)                                                      \
            tile(n, 4, 0, last, kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, w, out);       \
        else if (nv == 4)                                                                      \
            tile(n, 4, 1, last, kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, w, out);       \
        else                                                                                   \
            tile(n, 3, 1, last, kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate, w, out);       \
        break;
#define WIDE_PLAIN_CASE(n) WIDE_CASE(n, 0)
#define WIDE_OUT_CASE(n) WIDE_CASE(n, 1)
#define WIDE_ROW_CASES(CASE) CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6)

_Static_assert(WIDE_MR == 6 && WIDE_NV == 4, "wide_rows' cases");

/* wide_rows, wide_rows_plain, wide_rows_out: as tile_rows's. */
ROWS_FUNCTIONS(wide_rows, WIDE_ROW_CASES, WIDE_PLAIN_CASE, WIDE_OUT_CASE)

/* The first columns of C = A B in panels of 64 (the last one 33 to 64 wide, its last vector
 * masked) by tiles of at most 6 rows x 4 vectors; returns how many columns it did. With
 * 4 vector loads and 6 broadcasts for 24 FMAs per k, against 2 and 12 for the 12 x 2 tiles,
 * the products of tests/bench/bench_gemm ran up to 15% faster on a Zen 4 core (the
 * products between Winograd's transforms, 64 x 64 by 64 x 112 and 252: 101 -> 109-113
 * GFLOP/s; res_conv2's direct forward 95 -> 109), and one 1024 columns wide 50% faster. In
 * the training step less shows: the MLP about 7% on 1 core, the residual+inception net
 * 1-2%. Each element still sums its k terms in order, one FMA each: the bits of the 12 x 2
 * tiles (tests/unit/test_gemm.c compares the two). */
static int64_t wide_panels(int64_t M, int64_t N, int64_t K, const float *A, int64_t a_rs,
                           int64_t a_cs, const float *B, int64_t ldb, float *C, int64_t ldc,
                           int accumulate, const rows_out *out)
{
    const int64_t wide = 4 * VEC, cols = N % wide > 2 * VEC ? N : N / wide * wide;
    const int64_t tiles = (M + WIDE_MR - 1) / WIDE_MR;
    rows_out blk_out, at;
    for (int64_t k0 = 0; k0 < K; k0 += WIDE_KC) {
        const int64_t kc = K - k0 < WIDE_KC ? K - k0 : WIDE_KC;
        const int acc = accumulate || k0 > 0;
        const rows_out *blk = rows_out_block(out, k0 == 0, k0 + kc == K, &blk_out);
        for (int64_t j = 0; j < cols; j += wide) {
            const int64_t n = cols - j < wide ? cols - j : wide;
            const int nv = (int)((n + VEC - 1) / VEC);
            const int64_t rest = n - (nv - 1) * VEC;
            const lanes_t last = rest == VEC ? ALL_LANES : (lanes_t)((1u << rest) - 1);
            for (int64_t t = 0; t < tiles; t++) {
                const int64_t i = M * t / tiles;
                wide_rows((int)(M * (t + 1) / tiles - i), nv, last, kc,
                          A + i * a_rs + k0 * a_cs, a_rs, a_cs, B + k0 * ldb + j, ldb,
                          C + i * ldc + j, ldc, acc, rows_out_at(blk, i, j, ldc, &at));
            }
        }
    }
    return cols;
}
#endif

/* nni_gemm_nn with out (rows_out, or NULL). */
static void gemm_nn(int64_t M, int64_t N, int64_t K, const float *A, int64_t a_rs, int64_t a_cs,
                    const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate,
                    const rows_out *out)
{
    if (K <= 0) {
        for (int64_t m = 0; m < M && !accumulate; m++)
            for (int64_t n = 0; n < N; n++)
                C[m * ldc + n] = out && out->bias ? out->bias[m] : 0.0f;
        for (int64_t m = 0; m < M && out && out->relu; m++)
            for (int64_t n = 0; n < N; n++)
                out->relu[m * ldc + n] = nni_relu(C[m * ldc + n]);
        return;
    }
#if defined(__AVX512F__)
    rows_out shifted;
    if (M >= WIDE_MR && N >= 4 * VEC) {
        const int64_t done = wide_panels(M, N, K, A, a_rs, a_cs, B, ldb, C, ldc, accumulate,
                                         out);
        B += done;
        C += done;
        out = rows_out_at(out, 0, done, ldc, &shifted);
        N -= done;
        if (!N)
            return;
    }
#endif
    const int64_t n_full = N / NR * NR, n_tail = N - n_full;
    float b_tail[KC * NR];
    rows_out blk_out, at;
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
        const int64_t kc = K - k0 < KC ? K - k0 : KC;
        const int acc = accumulate || k0 > 0;
        const float *a_k = A + k0 * a_cs, *b_k = B + k0 * ldb;
        const rows_out *blk = rows_out_block(out, k0 == 0, k0 + kc == K, &blk_out);
        for (int64_t j = 0; j < n_full; j += NR)
            panel_product(M, NR, kc, a_k, a_rs, a_cs, b_k + j, ldb, C + j, ldc, acc, 0,
                          rows_out_at(blk, 0, j, ldc, &at));
        if (!n_tail)
            continue;
        /* The last columns read in place when few tiles share them (16 x 196 x 64: 10%
         * faster); with more (64 rows: six tiles) the masked tiles measured no faster than
         * a packed copy of aligned rows, which they all then share. */
        if (MASKED_EDGES && n_full && M <= 2 * MR) {
            panel_product(M, n_tail, kc, a_k, a_rs, a_cs, b_k + n_full, ldb, C + n_full, ldc,
                          acc, 1, rows_out_at(blk, 0, n_full, ldc, &at));
            continue;
        }
        for (int64_t k = 0; k < kc; k++) {
            memcpy(b_tail + k * NR, b_k + k * ldb + n_full, (size_t)n_tail * sizeof *b_tail);
            memset(b_tail + k * NR + n_tail, 0, (size_t)(NR - n_tail) * sizeof *b_tail);
        }
        panel_product(M, n_tail, kc, a_k, a_rs, a_cs, b_tail, NR, C + n_full, ldc, acc, 0,
                      rows_out_at(blk, 0, n_full, ldc, &at));
    }
}

void NNI_KERNEL(nni_gemm_nn)(int64_t M, int64_t N, int64_t K, const float *A, int64_t a_rs,
                             int64_t a_cs, const float *B, int64_t ldb, float *C, int64_t ldc,
                             int accumulate)
{
    gemm_nn(M, N, K, A, a_rs, a_cs, B, ldb, C, ldc, accumulate, NULL);
}

void NNI_KERNEL(nni_gemm_nn_bias_relu)(int64_t M, int64_t N, int64_t K, const float *A,
                                       int64_t a_rs, int64_t a_cs, const float *B, int64_t ldb,
                                       float *C, int64_t ldc, const float *bias, float *relu,
                                       int relu_only)
{
    const rows_out out = {bias, relu, relu && relu_only};
    gemm_nn(M, N, K, A, a_rs, a_cs, B, ldb, C, ldc, 0, &out);
}

/* Row r of the lowered matrix (see im2col.h) restricted to the panel's columns j..j+n, for
 * a stride-1 convolution whose output rows are as wide as its input rows: the input plane
 * xc shifted by `shift`, zero where that leaves the plane or wraps around a row end (an
 * output column ox whose input column ox + x_off is outside [0, W)). Columns n..NR-1 of the
 * panel row are zeros. */
static void pack_shifted_row(float *restrict dst, const float *restrict xc, int64_t plane,
                             int64_t w, int64_t off, int64_t x_off, int64_t n,
                             const int32_t *restrict col_x)
{
    int64_t lo = -off > 0 ? -off : 0, hi = plane - off < n ? plane - off : n;
    lo = lo < n ? lo : n;
    hi = hi > lo ? hi : lo;
    for (int64_t q = 0; q < lo; q++)
        dst[q] = 0.0f;
    const uint32_t width = (uint32_t)w;
    const int32_t shift_x = (int32_t)x_off;
    for (int64_t q = lo; q < hi; q++) {
        const float v = xc[off + q]; /* in the plane: loaded unconditionally, so it vectorizes */
        dst[q] = (uint32_t)(col_x[q] + shift_x) < width ? v : 0.0f;
    }
    for (int64_t q = hi; q < NR; q++)
        dst[q] = 0.0f;
}

/* y (+)= W im2col(x) for one image and group of a stride-1 convolution with out_w == in_w
 * (padding `same`, any dilation), without the lowered matrix: each KC x NR panel of it is
 * built from the image right before the tiles use it, so it is written and read in L1
 * instead of going out to memory and back (for a 64-channel 3x3 layer on 28x28 images the
 * lowered matrix is 1.8 MB, past L2). The panel holds the same numbers as the lowered
 * matrix and the tiles sum them in the same order: the result has the same bits. */
static void conv_flat_packed(const nni_conv_geom *g, int64_t M, const float *w, const float *x,
                             float *y, int accumulate)
{
    const int64_t width = g->in_w, plane = g->in_h * width, P = g->out_h * g->out_w;
    const int64_t K = nni_conv_geom_col_rows(g), kw = g->kernel_w;
    const int64_t kk = g->kernel_h * kw;
    float panel[KC * NR];
    int32_t col_x[NR]; /* the output column ox of each panel column */
    /* The panels read the image in short pieces from every channel at once, more streams
     * than the hardware prefetchers follow: fetched from memory that way, each piece
     * waited on its own miss (a 28x28 layer ran at 60% of its speed on a cached image).
     * One pass of prefetches in address order brings the image into the caches first. */
    nni_prefetch_read(x, g->channels * plane);
    /* k blocks outermost, as in nni_gemm_nn: a block of W serves every panel from L1/L2. */
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
        const int64_t kc = K - k0 < KC ? K - k0 : KC;
        for (int64_t j = 0; j < P; j += NR) {
            const int64_t n = P - j < NR ? P - j : NR;
            for (int64_t q = 0; q < NR; q++)
                col_x[q] = (int32_t)((j + q) % width);
            /* row k0 + r is (channel c, kernel row ki, kernel column kj), counted up rather
             * than divided out: a division per row cost as much as the packing. */
            int64_t c = k0 / kk, ki = k0 % kk / kw, kj = k0 % kw;
            for (int64_t r = 0; r < kc; r++) {
                const int64_t x_off = kj * g->dilation_w - g->pad_left;
                const int64_t shift = (ki * g->dilation_h - g->pad_top) * width + x_off;
                pack_shifted_row(panel + r * NR, x + c * plane, plane, width, j + shift, x_off,
                                 n, col_x);
                if (++kj == kw) {
                    kj = 0;
                    if (++ki == g->kernel_h) {
                        ki = 0;
                        c++;
                    }
                }
            }
            panel_product(M, n, kc, w + k0, K, 1, panel, NR, y + j, P, accumulate || k0 > 0,
                          MASKED_EDGES && P >= NR, NULL);
        }
    }
}

#if defined(__AVX512F__)
/* The forward of a flat convolution without packing the image (AVX-512): row k = (c, ki, kj)
 * of the lowered matrix, restricted to a panel's NR columns, is NR consecutive floats of the
 * input plane c from offset j + shift(ki, kj), with the columns that wrapped around a row end
 * or left the plane zeroed. A masked load reads exactly that: the tile loads B straight from
 * the image, each row of the block with its start and the mask of its tap (ki, kj), both
 * computed once per panel (lanes masked off are never read, so a start may point outside
 * the image). The W block is packed once per k block into the tiles' order (k-major, mr
 * values a k), so a broadcast is one load at a constant offset from one pointer instead of
 * one address per row. Same numbers and the same order of the FMAs as the packed panel: the
 * same bits. On a 64-channel 3x3 layer at 28x28 this ran at 183-190 GFLOP/s per core
 * against 151-161 for the packed panels (5x5 at 14x14: 163-168 against 153-154), in turns on
 * the same loaded core, CPU time. */
#define FLAT_MC 96     /* W rows packed at a time: 96 x KC floats, 96 KiB on the stack */
#define FLAT_MAX_KK 64 /* kernels up to 8 x 8 take this path; larger ones pack panels */

/* Written as tile() is (vector arithmetic that the build contracts to FMAs, or not, alike in
 * both), so that the two give the same bits under any compiler and optimization level.
 * edge: the last vector of C is read and written through the mask `last`, in place (as in
 * tile()). */
static inline __attribute__((always_inline)) void flat_tile(
    const int mr, const int nv, int edge, lanes_t last, int64_t kc, const float *restrict ap,
    const float *const *restrict rows, const uint32_t *restrict masks, float *restrict c,
    int64_t ldc, int accumulate)
{
    vfloat acc[MR][NV];
    for (int m = 0; m < mr; m++)
        for (int v = 0; v < nv; v++) {
            const float *cv = c + m * ldc + v * VEC;
            acc[m][v] = !accumulate             ? (vfloat){0}
                        : edge && v == nv - 1 ? load_lanes(cv, last)
                                              : load(cv);
        }
    for (int64_t k = 0; k < kc; k++) {
        const float *row = rows[k];
        const uint32_t mk = masks[k];
        vfloat bv[NV];
        for (int v = 0; v < nv; v++)
            bv[v] = (vfloat)_mm512_maskz_loadu_ps((__mmask16)(mk >> (16 * v)), row + v * VEC);
        for (int m = 0; m < mr; m++) {
            const float s = ap[k * mr + m];
            for (int v = 0; v < nv; v++)
                acc[m][v] += bv[v] * s;
        }
    }
    for (int m = 0; m < mr; m++)
        for (int v = 0; v < nv; v++) {
            if (edge && v == nv - 1)
                store_lanes(c + m * ldc + v * VEC, acc[m][v], last);
            else
                store(c + m * ldc + v * VEC, acc[m][v]);
        }
}

#define FLAT_CASE(n)                                                                           \
    case n:                                                                                    \
        if (last != ALL_LANES)                                                                 \
            if (nv == 1)                                                                       \
                flat_tile(n, 1, 1, last, kc, ap, rows, masks, c, ldc, accumulate);            \
            else                                                                               \
                flat_tile(n, NV, 1, last, kc, ap, rows, masks, c, ldc, accumulate);           \
        else if (nv == 1)                                                                      \
            flat_tile(n, 1, 0, last, kc, ap, rows, masks, c, ldc, accumulate);                \
        else                                                                                   \
            flat_tile(n, NV, 0, last, kc, ap, rows, masks, c, ldc, accumulate);               \
        break;

static void flat_tile_rows(int mr, int nv, lanes_t last, int64_t kc, const float *ap,
                           const float *const *rows, const uint32_t *masks, float *c,
                           int64_t ldc, int accumulate)
{
    switch (mr) {
        FLAT_CASE(1)
        FLAT_CASE(2)
        FLAT_CASE(3)
        FLAT_CASE(4)
        FLAT_CASE(5)
        FLAT_CASE(6)
        FLAT_CASE(7)
        FLAT_CASE(8)
        FLAT_CASE(9)
        FLAT_CASE(10)
        FLAT_CASE(11)
        FLAT_CASE(12)
    default:
        break;
    }
}

/* Tile t's rows [i, i + mr) of an mc x kc block of W (row stride K), as the tiles cut it,
 * at packed + i * kc, k-major: element (m, k) at [k * mr + m]. */
static void pack_w_block(const float *w, int64_t K, int64_t mc, int64_t kc, float *packed)
{
    const int64_t tiles = (mc + MR - 1) / MR;
    for (int64_t t = 0; t < tiles; t++) {
        const int64_t i = mc * t / tiles, mr = mc * (t + 1) / tiles - i;
        float *dst = packed + i * kc;
        for (int64_t m = 0; m < mr; m++)
            for (int64_t k = 0; k < kc; k++)
                dst[k * mr + m] = w[(i + m) * K + k];
    }
}

/* Bit 16 v + q of mask[t]: lane q of vector v of the panel from output pixel j, set when that
 * pixel (oy, ox) exists and reads through tap t (offsets y_off[t], x_off[t]) an input pixel
 * inside the plane. */
static void tap_masks(const nni_conv_geom *g, int64_t j, int64_t kk, const int64_t *x_off,
                      const int64_t *y_off, uint32_t *mask)
{
    const int64_t P = g->out_h * g->out_w;
    for (int64_t t = 0; t < kk; t++)
        mask[t] = 0;
    for (int v = 0; v < NV; v++) {
        int32_t oy_q[VEC], ox_q[VEC];
        __mmask16 exists = 0;
        for (int q = 0; q < VEC; q++) {
            const int64_t p = j + v * VEC + q;
            oy_q[q] = (int32_t)(p / g->out_w);
            ox_q[q] = (int32_t)(p % g->out_w);
            exists |= (__mmask16)((p < P) << q);
        }
        const __m512i oy = _mm512_loadu_si512(oy_q), ox = _mm512_loadu_si512(ox_q);
        const __m512i height = _mm512_set1_epi32((int32_t)g->in_h);
        const __m512i width = _mm512_set1_epi32((int32_t)g->in_w);
        for (int64_t t = 0; t < kk; t++) {
            const __m512i iy = _mm512_add_epi32(oy, _mm512_set1_epi32((int32_t)y_off[t]));
            const __m512i ix = _mm512_add_epi32(ox, _mm512_set1_epi32((int32_t)x_off[t]));
            const __mmask16 lanes = exists & _mm512_cmplt_epu32_mask(iy, height) &
                                    _mm512_cmplt_epu32_mask(ix, width);
            mask[t] |= (uint32_t)lanes << (16 * v);
        }
    }
}

void NNI_KERNEL(nni_conv_flat_product)(const nni_conv_geom *g, int64_t M, const float *w,
                                       const float *x, float *y, int accumulate)
{
    const int64_t width = g->in_w, height = g->in_h, plane = height * width;
    const int64_t P = g->out_h * g->out_w, K = nni_conv_geom_col_rows(g);
    const int64_t kw = g->kernel_w, kk = g->kernel_h * kw;
    if (kk > FLAT_MAX_KK || g->channels * plane > INT32_MAX) {
        conv_flat_packed(g, M, w, x, y, accumulate);
        return;
    }
    int64_t shift[FLAT_MAX_KK], x_off[FLAT_MAX_KK], y_off[FLAT_MAX_KK];
    for (int64_t t = 0; t < kk; t++) {
        y_off[t] = t / kw * g->dilation_h - g->pad_top;
        x_off[t] = t % kw * g->dilation_w - g->pad_left;
        shift[t] = y_off[t] * width + x_off[t];
    }
    /* See conv_flat_packed: one pass of prefetches in address order first. */
    nni_prefetch_read(x, g->channels * plane);
    float packed[FLAT_MC * KC];
    int64_t off[KC];
    uint8_t tap[KC];
    uint32_t mask[FLAT_MAX_KK], masks[KC]; /* lanes read, per tap and per row of the block */
    const float *rows[KC];                  /* where each row of the block starts */
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
        const int64_t kc = K - k0 < KC ? K - k0 : KC;
        for (int64_t r = 0; r < kc; r++) {
            const int64_t t = (k0 + r) % kk;
            off[r] = (k0 + r) / kk * plane + shift[t];
            tap[r] = (uint8_t)t;
        }
        for (int64_t m0 = 0; m0 < M; m0 += FLAT_MC) {
            const int64_t mc = M - m0 < FLAT_MC ? M - m0 : FLAT_MC;
            const int64_t tiles = (mc + MR - 1) / MR;
            pack_w_block(w + m0 * K + k0, K, mc, kc, packed);
            const int acc = accumulate || k0 > 0;
            for (int64_t j = 0; j < P; j += NR) {
                const int64_t n = P - j < NR ? P - j : NR;
                const int nv = n == NR ? NV : (int)((n + VEC - 1) / VEC);
                tap_masks(g, j, kk, x_off, y_off, mask);
                for (int64_t r = 0; r < kc; r++) {
                    rows[r] = x + j + off[r];
                    masks[r] = mask[tap[r]];
                }
                /* the right edge's tiles write the last vector of C through a mask */
                const int64_t rest = n - (nv - 1) * VEC;
                const lanes_t last = rest == VEC ? ALL_LANES : (lanes_t)((1u << rest) - 1);
                float *yj = y + m0 * P + j;
                for (int64_t t = 0; t < tiles; t++) {
                    const int64_t i = mc * t / tiles;
                    const int mr = (int)(mc * (t + 1) / tiles - i);
                    flat_tile_rows(mr, nv, last, kc, packed + i * kc, rows, masks, yj + i * P,
                                   P, acc);
                }
            }
        }
    }
}
#else
void NNI_KERNEL(nni_conv_flat_product)(const nni_conv_geom *g, int64_t M, const float *w,
                                       const float *x, float *y, int accumulate)
{
    conv_flat_packed(g, M, w, x, y, accumulate);
}
#endif


/* panel[k][v] = b[v][k] for v < n (zero for n <= v < NR), k < kc: n rows of B turned into
 * a k-major panel. The layer's whole weight matrix passes through here on every forward,
 * whatever the batch: element by element it cost the MLP's step as much as a tenth of its
 * products at 128 rows per rank. */
static void pack_transposed(float *restrict panel, const float *restrict b, int64_t ldb,
                            int64_t n, int64_t kc)
{
    int64_t v0 = 0;
#if defined(__AVX512F__)
    for (; v0 + 16 <= n; v0 += 16) {
        int64_t k = 0;
        for (; k + 16 <= kc; k += 16) {
            __m512 r[16];
            for (int i = 0; i < 16; i++)
                r[i] = _mm512_loadu_ps(b + (v0 + i) * ldb + k);
            nni_transpose16(r);
            for (int i = 0; i < 16; i++)
                _mm512_storeu_ps(panel + (k + i) * NR + v0, r[i]);
        }
        for (; k < kc; k++)
            for (int64_t v = v0; v < v0 + 16; v++)
                panel[k * NR + v] = b[v * ldb + k];
    }
#endif
    /* k outermost: the stores run along the panel, the loads along n rows at once. */
    for (int64_t k = 0; k < kc; k++) {
        for (int64_t v = v0; v < n; v++)
            panel[k * NR + v] = b[v * ldb + k];
        for (int64_t v = n; v < NR; v++)
            panel[k * NR + v] = 0.0f;
    }
}

void NNI_KERNEL(nni_gemm_nt)(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                             const float *B, int64_t ldb, float *C, int64_t ldc, int accumulate)
{
    if (K <= 0) {
        if (!accumulate)
            zero_rows(M, N, C, ldc);
        return;
    }
    float panel[KC * NR];
    for (int64_t j = 0; j < N; j += NR) {
        const int64_t n = N - j < NR ? N - j : NR;
        for (int64_t k0 = 0; k0 < K; k0 += KC) {
            const int64_t kc = K - k0 < KC ? K - k0 : KC;
            pack_transposed(panel, B + j * ldb + k0, ldb, n, kc);
            panel_product(M, n, kc, A + k0, lda, 1, panel, NR, C + j, ldc,
                          accumulate || k0 > 0, MASKED_EDGES && N >= NR, NULL);
        }
    }
}

/* The tree's additions on tiles (whole vectors: a tile row is NR floats). */
static void tile_add(const float *a, const float *b, int64_t len, float *out)
{
    for (int64_t i = 0; i < len; i += VEC)
        store(out + i, load(a + i) + load(b + i));
}

/* Each tile of C goes through every unit: the unit's product from zero into the tree's
 * scratch where it would wait (parallel/unit_tree.h), then pushed, so that only the nodes
 * of the cover leave the tile. */
void NNI_KERNEL(nni_gemm_nn_units)(int64_t M, int64_t N, int64_t K, int64_t unit_k,
                                   const int64_t *unit_ids, const float *A, int64_t a_rs,
                                   int64_t a_cs, const float *B, int64_t ldb, float *nodes,
                                   int64_t node_stride, int64_t ldc)
{
    const int64_t units = (K + unit_k - 1) / unit_k;
    int bits = 0;
    while (((int64_t)1 << bits) <= units)
        bits++;
    const int capacity = 2 * bits + 2; /* a run of units waits on at most 2 per level */
    float scratch[capacity * MR * NR], b_tail[KC * NR];
    nni_tree_node node[capacity];
    const float *value[capacity];
    /* A tile narrower than NR leaves the rest of its rows as they were: never uninitialized. */
    memset(scratch, 0, sizeof scratch);
    nni_tree_sum tree = {.capacity = capacity, .node = node, .value = value,
                         .scratch = scratch, .add = tile_add};
    /* Rows outer, so that the nodes are written along their rows (a few store streams,
     * which the prefetcher follows; B's panels come again from L2 for each row tile). */
    const int64_t tiles = (M + MR - 1) / MR;
    for (int64_t t = 0; t < tiles; t++) {
        const int64_t i = M * t / tiles;
        const int mr = (int)(M * (t + 1) / tiles - i);
        for (int64_t j = 0; j < N; j += NR) {
            const int64_t n = N - j < NR ? N - j : NR;
            const int nv = (int)((n + VEC - 1) / VEC);
            tree.len = mr * NR;
            nni_tree_sum_start(&tree);
            for (int64_t u = 0; u < units; u++) {
                float *out = tree.scratch + tree.depth * tree.len;
                const int64_t first = u * unit_k, end = first + unit_k < K ? first + unit_k : K;
                for (int64_t k0 = first; k0 < end; k0 += KC) {
                    const int64_t kc = end - k0 < KC ? end - k0 : KC;
                    const float *b = B + k0 * ldb + j;
                    int64_t b_ld = ldb;
                    lanes_t last = ALL_LANES;
                    if (n < NR && MASKED_EDGES) { /* B read in place through a mask */
                        const int64_t rest = n - (nv - 1) * VEC;
                        last = rest == VEC ? ALL_LANES : (lanes_t)((1u << rest) - 1);
                    } else if (n < NR) { /* zero-padded, as nni_gemm_nn's right edge */
                        for (int64_t k = 0; k < kc; k++) {
                            memcpy(b_tail + k * NR, b + k * ldb, (size_t)n * sizeof *b_tail);
                            memset(b_tail + k * NR + n, 0, (size_t)(NR - n) * sizeof *b_tail);
                        }
                        b = b_tail;
                        b_ld = NR;
                    }
                    tile_rows(mr, nv, last, kc, A + i * a_rs + k0 * a_cs, a_rs, a_cs, b, b_ld,
                              out, NR, k0 > first, NULL);
                }
                nni_tree_sum_push(&tree, (nni_tree_node){.first = unit_ids[u]}, out);
            }
            for (int k = 0; k < tree.depth; k++)
                for (int m = 0; m < mr; m++)
                    memcpy(nodes + k * node_stride + (i + m) * ldc + j, tree.value[k] + m * NR,
                           (size_t)n * sizeof *nodes);
        }
    }
}
