/* bf16 products on AMX's tiles (core/gemm_bf16_amx.h).
 *
 * One step of the kernel: C's 32 x 32 block as four 16 x 16 float tiles (tmm0-3), A's 32
 * rows as two tiles of 16 pairs (tmm4-5), B's 32 columns as two (tmm6-7), four tdpbf16ps.
 * A block at C's edge goes through a 32 x 32 copy, since the tiles' shape is set once per
 * thread (ldtilecfg clears the tiles, too slow to change it per block). */
#define _DEFAULT_SOURCE /* syscall: ask Linux for the tile registers */
#include "core/gemm_bf16_amx.h"

#include <string.h>

#include "core/gemm_bf16.h"

#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define AMX_X86 1
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/bf16_words.h"

#define AMX_TARGET __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl," \
                                         "avx512bf16")))
#endif

enum { ROWS = NNI_AMX_ROWS, COLS = 32, TILE = 16 };

#ifdef AMX_X86
/* Linux's arch_prctl codes (asm/prctl.h) and the tile data's state component number. */
enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };

int nni_amx_bf16_supported(void)
{
    static int supported = -1;
    if (supported >= 0)
        return supported;
    unsigned a, b, c, d;
    supported = 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return 0;
    const unsigned amx_bf16 = 1u << 22, amx_tile = 1u << 24;
    if ((d & amx_bf16) && (d & amx_tile) && nni_bf16_native_supported())
        supported = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
    return supported;
}

/* ldtilecfg's 64-byte operand: palette 1, every tile 16 rows of 64 bytes. */
typedef struct tile_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t bytes_per_row[16];
    uint8_t rows[16];
} tile_config;

/* A constant: GCC 12 does not see ldtilecfg read its operand, and dropped the stores that
 * filled a local one. */
static const tile_config config = {
    .palette = 1,
    .bytes_per_row = {64, 64, 64, 64, 64, 64, 64, 64},
    .rows = {TILE, TILE, TILE, TILE, TILE, TILE, TILE, TILE},
};

AMX_TARGET void nni_amx_begin(void)
{
    _tile_loadconfig(&config);
}

AMX_TARGET void nni_amx_end(void)
{
    _tile_release();
}

/* Rows contiguous in k: each row's 32 K values are the tile row's 16 pair words as they
 * stand. */
AMX_TARGET static void pack_a_rows(const float *A, int64_t a_rs, int64_t rows, int64_t k0,
                                   int64_t pairs, int64_t K, uint32_t *out)
{
    for (int64_t m = 0; m < (rows + ROWS - 1) / ROWS * ROWS; m++)
        for (int64_t p = 0; p < pairs; p += 16) {
            const int64_t k = k0 + 2 * p;
            const __m512i words = m < rows ? nni_bf16_line_words(A + m * a_rs + k, K - k)
                                           : _mm512_setzero_si512();
            _mm512_store_si512(out + m * pairs + p, words);
        }
}

/* Columns contiguous in m: 16 rows' pairs made across the rows, then turned into rows. */
AMX_TARGET static void pack_a_cols(const float *A, int64_t a_cs, int64_t rows, int64_t k0,
                                   int64_t pairs, int64_t K, uint32_t *out)
{
    for (int64_t m0 = 0; m0 < (rows + ROWS - 1) / ROWS * ROWS; m0 += 16) {
        const int64_t left = rows - m0;
        const __mmask16 live = left >= 16 ? 0xffff : left <= 0 ? 0
                               : (__mmask16)((1u << left) - 1);
        for (int64_t p = 0; p < pairs; p += 16) {
            __m512i r[16];
            for (int q = 0; q < 16; q++) {
                const int64_t k = k0 + 2 * (p + q);
                const __m512 lo = k < K ? _mm512_maskz_loadu_ps(live, A + m0 + k * a_cs)
                                        : _mm512_setzero_ps();
                const __m512 hi = k + 1 < K
                                  ? _mm512_maskz_loadu_ps(live, A + m0 + (k + 1) * a_cs)
                                  : _mm512_setzero_ps();
                r[q] = nni_bf16_pair_words(lo, hi);
            }
            nni_bf16_transpose16(r);
            for (int t = 0; t < 16; t++)
                _mm512_store_si512(out + (m0 + t) * pairs + p, r[t]);
        }
    }
}

static void pack_a_plain(const float *A, int64_t a_rs, int64_t a_cs, int64_t rows, int64_t k0,
                         int64_t pairs, int64_t K, uint32_t *out)
{
    for (int64_t m = 0; m < (rows + ROWS - 1) / ROWS * ROWS; m++)
        for (int64_t p = 0; p < pairs; p++) {
            const int64_t k = k0 + 2 * p;
            const float lo = m < rows && k < K ? A[m * a_rs + k * a_cs] : 0.0f;
            const float hi = m < rows && k + 1 < K ? A[m * a_rs + (k + 1) * a_cs] : 0.0f;
            out[m * pairs + p] = (uint32_t)nni_bf16_from_float(lo) |
                                 (uint32_t)nni_bf16_from_float(hi) << 16;
        }
}

void nni_amx_pack_a(const float *A, int64_t a_rs, int64_t a_cs, int64_t rows, int64_t k0,
                    int64_t pairs, int64_t K, uint32_t *out)
{
    if (a_cs == 1)
        pack_a_rows(A, a_rs, rows, k0, pairs, K, out);
    else if (a_rs == 1)
        pack_a_cols(A, a_cs, rows, k0, pairs, K, out);
    else
        pack_a_plain(A, a_rs, a_cs, rows, k0, pairs, K, out);
}

/* One 32 x 32 block of C (row stride ld) (+)= 32 rows of A's panel times 32 columns of B's. */
AMX_TARGET static void block_32x32(int64_t pairs, const uint32_t *a, const uint32_t *b,
                                   float *c, int64_t ld, int load_c)
{
    const int64_t stride = ld * (int64_t)sizeof *c;
    if (load_c) {
        _tile_loadd(0, c, stride);
        _tile_loadd(1, c + TILE, stride);
        _tile_loadd(2, c + TILE * ld, stride);
        _tile_loadd(3, c + TILE * ld + TILE, stride);
    } else {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    }
    const int64_t a_stride = pairs * (int64_t)sizeof *a, b_stride = COLS * sizeof *b;
    for (int64_t p = 0; p < pairs; p += 16) {
        _tile_loadd(4, a + p, a_stride);
        _tile_loadd(5, a + TILE * pairs + p, a_stride);
        _tile_loadd(6, b + p * COLS, b_stride);
        _tile_loadd(7, b + p * COLS + TILE, b_stride);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, c, stride);
    _tile_stored(1, c + TILE, stride);
    _tile_stored(2, c + TILE * ld, stride);
    _tile_stored(3, c + TILE * ld + TILE, stride);
}

/* Rows [0, r) of n <= 32 columns from one 32-wide block to another (row strides in floats):
 * two masked moves a row, where memcpy's calls cost more than the tiles' work at C's edge. */
AMX_TARGET static void copy_rows(const float *from, int64_t from_ld, float *to, int64_t to_ld,
                                 int64_t r, int64_t n)
{
    const __mmask16 m0 = n >= 16 ? 0xffff : (__mmask16)((1u << n) - 1);
    const __mmask16 m1 = n >= 32 ? 0xffff : n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1);
    for (int64_t y = 0; y < r; y++) {
        _mm512_mask_storeu_ps(to + y * to_ld, m0, _mm512_maskz_loadu_ps(m0, from + y * from_ld));
        _mm512_mask_storeu_ps(to + y * to_ld + 16, m1,
                              _mm512_maskz_loadu_ps(m1, from + y * from_ld + 16));
    }
}

AMX_TARGET void nni_amx_product_block(int64_t pairs, const uint32_t *a, const uint32_t *b,
                                      float *C, int64_t ldc, int64_t rows, int64_t cols,
                                      int load_c)
{
    _Alignas(64) float edge[ROWS * COLS];
    for (int64_t j = 0; j < cols; j += COLS)
        for (int64_t i = 0; i < rows; i += ROWS) {
            const uint32_t *ap = a + i * pairs, *bp = b + j * pairs;
            float *c = C + i * ldc + j;
            const int64_t r = rows - i < ROWS ? rows - i : ROWS;
            const int64_t n = cols - j < COLS ? cols - j : COLS;
            if (r == ROWS && n == COLS) {
                block_32x32(pairs, ap, bp, c, ldc, load_c);
                continue;
            }
            /* The copy's other elements may hold anything: each sum is its own. */
            if (load_c)
                copy_rows(c, ldc, edge, COLS, r, n);
            block_32x32(pairs, ap, bp, edge, COLS, load_c);
            copy_rows(edge, COLS, c, ldc, r, n);
        }
}

AMX_TARGET void nni_amx_rate_loop(int64_t rounds)
{
    static const uint16_t zeros[TILE * 32]; /* the rate does not depend on the values */
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    _tile_loadd(4, zeros, 64);
    _tile_loadd(5, zeros, 64);
    _tile_loadd(6, zeros, 64);
    _tile_loadd(7, zeros, 64);
    for (int64_t r = 0; r < rounds; r++) {
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
}
#else
int nni_amx_bf16_supported(void)
{
    return 0;
}

void nni_amx_begin(void)
{
}

void nni_amx_end(void)
{
}

void nni_amx_pack_a(const float *A, int64_t a_rs, int64_t a_cs, int64_t rows, int64_t k0,
                    int64_t pairs, int64_t K, uint32_t *out)
{
    (void)A, (void)a_rs, (void)a_cs, (void)rows, (void)k0, (void)pairs, (void)K, (void)out;
}

void nni_amx_product_block(int64_t pairs, const uint32_t *a, const uint32_t *b, float *C,
                           int64_t ldc, int64_t rows, int64_t cols, int load_c)
{
    (void)pairs, (void)a, (void)b, (void)C, (void)ldc, (void)rows, (void)cols, (void)load_c;
}

void nni_amx_rate_loop(int64_t rounds)
{
    (void)rounds;
}
#endif
