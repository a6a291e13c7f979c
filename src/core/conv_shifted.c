/* Convolutions of images with few channels as sums of shifted planes (core/conv_shifted.h).
 *
 * The input is first copied into zero-padded planes (pad_planes), so that every term of
 * every output pixel is a plain load: term k = (c, ty, tx) of the chunk whose first pixel is
 * (oy, ox) starts at padded[c][oy + ty][ox + tx]. A chunk at a row's right end loads past
 * the row (into the next padded row, or the zeros after the last plane); the forward masks
 * those lanes when it stores, and the weight gradient multiplies them by zero lanes of dy.
 * This file is compiled once per kernel set (core/kernel_set.h), with floating-point
 * contraction as core/gemm.c is, so that the forward's FMAs are the products' FMAs. */
#include "core/conv_shifted.h"

#include <string.h>

#include "core/kernel_set.h"
#include "core/relu.h"
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#if defined(__AVX512F__)
#define VEC 16
#elif defined(__AVX__)
#define VEC 8
#else
#define VEC 4
#endif
#define OUTS 6        /* outputs a forward block holds: OUTS x CHUNKS accumulators */
#define CHUNKS 2      /* output chunks a forward block holds */
#define GRAD_OUTS (VEC == 16 ? 4 : 3) /* outputs a weight-gradient block holds */
#define GRAD_TERMS 3  /* its terms: GRAD_OUTS x GRAD_TERMS accumulators */
#define LANES 16      /* floats per (output, term) lane sum, whatever VEC is */

#define INLINE static inline __attribute__((always_inline))

typedef float vfloat __attribute__((vector_size(VEC * sizeof(float))));

INLINE vfloat load(const float *p)
{
    vfloat v;
    memcpy(&v, p, sizeof v);
    return v;
}

INLINE void store(float *p, vfloat v)
{
    memcpy(p, &v, sizeof v);
}

/* The first n lanes (1..VEC) of p, zeros in the others; only they are read. */
INLINE vfloat load_first(const float *p, int n)
{
#if defined(__AVX512F__)
    return (vfloat)_mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1), p);
#else
    if (n == VEC)
        return load(p);
    float part[VEC] = {0};
    memcpy(part, p, (size_t)n * sizeof *p);
    return load(part);
#endif
}

/* Stores the first n lanes (1..VEC) of v at p; nothing past them is written. */
INLINE void store_first(float *p, vfloat v, int n)
{
#if defined(__AVX512F__)
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1), (__m512)v);
#else
    if (n == VEC) {
        store(p, v);
        return;
    }
    float part[VEC];
    memcpy(part, &v, sizeof part);
    memcpy(p, part, (size_t)n * sizeof *p);
#endif
}

NNI_DEFINE_VECTOR_RELU(relu_of, vfloat, VEC)

/* The padded planes' width: an output row and its kernel's overhang. */
static int64_t padded_cols(const nni_conv_geom *g)
{
    return g->out_w + g->kernel_w - 1;
}

/* The output as rows for the chunks: out_h rows of out_w pixels, each row's padded source
 * padded_cols apart; or, when the padded rows are as long as the output's (one kernel column,
 * no padding at the sides), the whole plane as one row, so that no chunk is cut short at a
 * row's end (a 1x1 layer's 28-pixel rows were each a vector and 12 lanes of another). */
typedef struct chunk_rows {
    int64_t rows, width, stride;
} chunk_rows;

static chunk_rows rows_of(const nni_conv_geom *g)
{
    const int64_t cols = padded_cols(g);
    if (cols == g->out_w)
        return (chunk_rows){1, g->out_h * g->out_w, 0};
    return (chunk_rows){g->out_h, g->out_w, cols};
}

/* x's planes into `padded`: out_h + kh - 1 rows of padded_cols, zeros outside the image,
 * then LANES zeros that the last row's chunks may load. */
static void pad_planes(const nni_conv_geom *g, const float *x, float *padded)
{
    const int64_t rows = g->out_h + g->kernel_h - 1, cols = padded_cols(g);
    const int64_t first = g->pad_left > 0 ? g->pad_left : 0;
    const int64_t end = g->pad_left + g->in_w < cols ? g->pad_left + g->in_w : cols;
    for (int64_t c = 0; c < g->channels; c++)
        for (int64_t r = 0; r < rows; r++) {
            float *dst = padded + (c * rows + r) * cols;
            const int64_t iy = r - g->pad_top;
            if (iy < 0 || iy >= g->in_h || end <= first) {
                memset(dst, 0, (size_t)cols * sizeof *dst);
                continue;
            }
            memset(dst, 0, (size_t)first * sizeof *dst);
            memcpy(dst + first, x + (c * g->in_h + iy) * g->in_w + first - g->pad_left,
                   (size_t)(end - first) * sizeof *dst);
            memset(dst + end, 0, (size_t)(cols - end) * sizeof *dst);
        }
    memset(padded + g->channels * rows * cols, 0, LANES * sizeof *padded);
}

/* Where each term's plane starts, relative to a chunk's first pixel, in torch's weight order
 * (c, ty, tx); returns the number of terms. */
static int64_t term_offsets(const nni_conv_geom *g, int64_t *off)
{
    const int64_t rows = g->out_h + g->kernel_h - 1, cols = padded_cols(g);
    int64_t k = 0;
    for (int64_t c = 0; c < g->channels; c++)
        for (int64_t ty = 0; ty < g->kernel_h; ty++)
            for (int64_t tx = 0; tx < g->kernel_w; tx++)
                off[k++] = (c * rows + ty) * cols + tx;
    return k;
}

/* outs outputs (rows of w from its first, K terms each) of `chunks` chunks: each chunk's
 * outputs start from the bias and add the terms in order, one FMA each; with `relu` 1, their
 * relu goes to relu_dst as well, with 2 there alone. outs, chunks and relu are constants at
 * every call; the accumulators are named variables, which GCC keeps in registers (an array
 * of them it kept in memory), and the unused ones are dead code. */
INLINE void forward_block(const int outs, const int chunks, const int relu, int64_t K,
                          const int64_t *off, const float *w, const float *bias,
                          const float *const *src, float *const *dst, float *const *relu_dst,
                          const int *lanes, int64_t plane)
{
    const float *x0 = src[0], *x1 = chunks > 1 ? src[1] : src[0];
#define ACC_INIT(o) vfloat acc##o##0, acc##o##1;                                              \
    acc##o##0 = acc##o##1 = (vfloat){0} + (bias && outs > o ? bias[o] : 0.0f)
#define ACC_TERM(o)                                                                            \
    if (outs > o) {                                                                            \
        const float s = w[o * K + k];                                                          \
        acc##o##0 += xv0 * s;                                                                  \
        if (chunks > 1)                                                                        \
            acc##o##1 += xv1 * s;                                                              \
    }
#define ACC_STORE(o)                                                                           \
    if (outs > o) {                                                                            \
        if (relu != 2)                                                                         \
            store_first(dst[0] + o * plane, acc##o##0, lanes[0]);                              \
        if (relu)                                                                              \
            store_first(relu_dst[0] + o * plane, relu_of(acc##o##0), lanes[0]);                \
        if (chunks > 1 && relu != 2)                                                           \
            store_first(dst[1] + o * plane, acc##o##1, lanes[1]);                              \
        if (chunks > 1 && relu)                                                                \
            store_first(relu_dst[1] + o * plane, relu_of(acc##o##1), lanes[1]);                \
    }
    _Static_assert(OUTS == 6 && CHUNKS == 2, "forward_block's accumulators");
    ACC_INIT(0); ACC_INIT(1); ACC_INIT(2); ACC_INIT(3); ACC_INIT(4); ACC_INIT(5);
    for (int64_t k = 0; k < K; k++) {
        const vfloat xv0 = load(x0 + off[k]);
        const vfloat xv1 = chunks > 1 ? load(x1 + off[k]) : xv0;
        ACC_TERM(0) ACC_TERM(1) ACC_TERM(2) ACC_TERM(3) ACC_TERM(4) ACC_TERM(5)
    }
    ACC_STORE(0) ACC_STORE(1) ACC_STORE(2) ACC_STORE(3) ACC_STORE(4) ACC_STORE(5)
#undef ACC_INIT
#undef ACC_TERM
#undef ACC_STORE
}

#define FORWARD_CASE(n)                                                                        \
    case n:                                                                                    \
        if (chunks == 2 && relu_dst && !dst)                                                   \
            forward_block(n, 2, 2, K, off, w, bias, src, relu_dst, relu_dst, lanes, plane);    \
        else if (chunks == 2 && relu_dst)                                                      \
            forward_block(n, 2, 1, K, off, w, bias, src, dst, relu_dst, lanes, plane);         \
        else if (chunks == 2)                                                                  \
            forward_block(n, 2, 0, K, off, w, bias, src, dst, dst, lanes, plane);              \
        else if (relu_dst && !dst)                                                             \
            forward_block(n, 1, 2, K, off, w, bias, src, relu_dst, relu_dst, lanes, plane);    \
        else if (relu_dst)                                                                     \
            forward_block(n, 1, 1, K, off, w, bias, src, dst, relu_dst, lanes, plane);         \
        else                                                                                   \
            forward_block(n, 1, 0, K, off, w, bias, src, dst, dst, lanes, plane);              \
        break;

static void forward_outputs(int outs, int chunks, int64_t K, const int64_t *off,
                            const float *w, const float *bias, const float *const *src,
                            float *const *dst, float *const *relu_dst, const int *lanes,
                            int64_t plane)
{
    _Static_assert(OUTS == 6 && CHUNKS == 2, "forward_outputs' cases");
    switch (outs) {
        FORWARD_CASE(1)
        FORWARD_CASE(2)
        FORWARD_CASE(3)
        FORWARD_CASE(4)
        FORWARD_CASE(5)
        FORWARD_CASE(6)
    default:
        break;
    }
}

void NNI_KERNEL(nni_conv_shifted_forward)(const nni_conv_geom *g, int64_t M, const float *w,
                                          const float *bias, const float *x, float *y,
                                          float *relu, float *scratch)
{
    int64_t off[NNI_CONV_SHIFTED_MAX_TERMS];
    const int64_t K = term_offsets(g, off), plane = g->out_h * g->out_w;
    const chunk_rows r = rows_of(g);
    const int64_t per_row = (r.width + VEC - 1) / VEC, chunks = r.rows * per_row;
    /* The outputs in blocks as equal as can be, each at most OUTS: 64 as eleven blocks of 5
     * or 6, not ten of 6 and one of 4. */
    const int64_t blocks = (M + OUTS - 1) / OUTS;
    pad_planes(g, x, scratch);
    /* Block by block, each through every chunk: the stores run along the block's output
     * planes (chunk by chunk for all M outputs, they went to M places at once and the forward
     * ran 4x slower). */
    for (int64_t b = 0; b < blocks; b++) {
        const int64_t o0 = M * b / blocks, o1 = M * (b + 1) / blocks;
        for (int64_t i = 0; i < chunks; i += CHUNKS) {
            const int n = chunks - i < CHUNKS ? (int)(chunks - i) : CHUNKS;
            const float *src[CHUNKS];
            float *dst[CHUNKS], *relu_dst[CHUNKS];
            int lanes[CHUNKS];
            for (int ch = 0; ch < n; ch++) {
                const int64_t oy = (i + ch) / per_row, ox = (i + ch) % per_row * VEC;
                const int64_t at = o0 * plane + oy * r.width + ox;
                src[ch] = scratch + oy * r.stride + ox;
                dst[ch] = y ? y + at : NULL;
                relu_dst[ch] = relu ? relu + at : NULL;
                lanes[ch] = r.width - ox < VEC ? (int)(r.width - ox) : VEC;
            }
            forward_outputs((int)(o1 - o0), n, K, off, w + o0 * K, bias ? bias + o0 : NULL,
                            src, y ? dst : NULL, relu ? relu_dst : NULL, lanes, plane);
        }
    }
}

/* lanes[o][t] += the terms first .. first + terms - 1 of outputs o < outs over every chunk of
 * one sample; dy starts at the block's first output. Each lane sums its chunks in order. */
INLINE void grad_block(const int outs, const int terms, const nni_conv_geom *g,
                       const int64_t *off, const float *padded, const float *dy, float *lanes,
                       int64_t lanes_stride)
{
    const int64_t plane = g->out_h * g->out_w;
    const chunk_rows r = rows_of(g);
    /* Named accumulators, one per (output o, term t): GCC kept an array of them in memory,
     * stored at every chunk however the loop was written (30 GFLOP/s, now 85). Unused ones
     * are dead code. */
#define LANE(o, t) (lanes + (o) * lanes_stride + (t) * LANES)
#define ACC_LOAD(o, t) vfloat acc##o##t = outs > o && terms > t ? load(LANE(o, t)) : (vfloat){0}
#define ACC_STORE(o, t)                                                                        \
    if (outs > o && terms > t)                                                                 \
    store(LANE(o, t), acc##o##t)
#define ACC_TERM(t)                                                                            \
    if (terms > t) {                                                                           \
        const vfloat xv = load(padded + x_at + off[t]);                                        \
        acc0##t += d0 * xv;                                                                    \
        if (outs > 1)                                                                          \
            acc1##t += d1 * xv;                                                                \
        if (outs > 2)                                                                          \
            acc2##t += d2 * xv;                                                                \
        if (outs > 3)                                                                          \
            acc3##t += d3 * xv;                                                                \
    }
    _Static_assert(GRAD_OUTS <= 4 && GRAD_TERMS == 3, "grad_block's accumulators");
    ACC_LOAD(0, 0); ACC_LOAD(0, 1); ACC_LOAD(0, 2);
    ACC_LOAD(1, 0); ACC_LOAD(1, 1); ACC_LOAD(1, 2);
    ACC_LOAD(2, 0); ACC_LOAD(2, 1); ACC_LOAD(2, 2);
    ACC_LOAD(3, 0); ACC_LOAD(3, 1); ACC_LOAD(3, 2);
    const vfloat zero = {0};
    for (int64_t oy = 0; oy < r.rows; oy++)
        for (int64_t ox = 0; ox < r.width; ox += VEC) {
            const int64_t x_at = oy * r.stride + ox;
            const int n = r.width - ox < VEC ? (int)(r.width - ox) : VEC;
            const float *d = dy + oy * r.width + ox;
            const vfloat d0 = load_first(d, n);
            const vfloat d1 = outs > 1 ? load_first(d + plane, n) : zero;
            const vfloat d2 = outs > 2 ? load_first(d + 2 * plane, n) : zero;
            const vfloat d3 = outs > 3 ? load_first(d + 3 * plane, n) : zero;
            ACC_TERM(0)
            ACC_TERM(1)
            ACC_TERM(2)
        }
    ACC_STORE(0, 0); ACC_STORE(0, 1); ACC_STORE(0, 2);
    ACC_STORE(1, 0); ACC_STORE(1, 1); ACC_STORE(1, 2);
    ACC_STORE(2, 0); ACC_STORE(2, 1); ACC_STORE(2, 2);
    ACC_STORE(3, 0); ACC_STORE(3, 1); ACC_STORE(3, 2);
#undef LANE
#undef ACC_LOAD
#undef ACC_STORE
#undef ACC_TERM
}

#define GRAD_CASE(n)                                                                           \
    case n:                                                                                    \
        if (terms == GRAD_TERMS)                                                               \
            grad_block(n, GRAD_TERMS, g, off, padded, dy, lanes, lanes_stride);         \
        else if (terms == 2)                                                                   \
            grad_block(n, 2, g, off, padded, dy, lanes, lanes_stride);                  \
        else                                                                                   \
            grad_block(n, 1, g, off, padded, dy, lanes, lanes_stride);                  \
        break;

static void grad_terms(int outs, int terms, const nni_conv_geom *g, const int64_t *off,
                       const float *padded, const float *dy, float *lanes, int64_t lanes_stride)
{
    _Static_assert(GRAD_TERMS == 3 && GRAD_OUTS <= 4, "grad_terms' cases");
    switch (outs) {
        GRAD_CASE(1)
        GRAD_CASE(2)
        GRAD_CASE(3)
#if GRAD_OUTS > 3
        GRAD_CASE(4)
#endif
    default:
        break;
    }
}

void NNI_KERNEL(nni_conv_shifted_weight_grad)(const nni_conv_geom *g, int64_t M,
                                              const float *x, const float *dy, float *lanes,
                                              float *scratch)
{
    int64_t off[NNI_CONV_SHIFTED_MAX_TERMS];
    const int64_t K = term_offsets(g, off), plane = g->out_h * g->out_w;
    pad_planes(g, x, scratch);
    for (int64_t o = 0; o < M; o += GRAD_OUTS) {
        const int outs = M - o < GRAD_OUTS ? (int)(M - o) : GRAD_OUTS;
        for (int64_t k = 0; k < K; k += GRAD_TERMS) {
            const int terms = K - k < GRAD_TERMS ? (int)(K - k) : GRAD_TERMS;
            grad_terms(outs, terms, g, off + k, scratch, dy + o * plane,
                       lanes + (o * K + k) * LANES, K * LANES);
        }
    }
}

void NNI_KERNEL(nni_conv_shifted_weight_grad_finish)(const nni_conv_geom *g, int64_t M,
                                                     const float *lanes, float *dw,
                                                     int64_t ldw)
{
    const int64_t C = g->channels, kk = g->kernel_h * g->kernel_w;
    for (int64_t o = 0; o < M; o++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t t = 0; t < kk; t++) {
                const float *sums = lanes + ((o * C + c) * kk + t) * LANES;
                float total = 0.0f;
                for (int l = 0; l < VEC; l++)
                    total += sums[l];
                dw[o * ldw + t * C + c] = total;
            }
}
