/* The bf16 products' AMX path (core/gemm_bf16.h): Intel's tile unit, whose tdpbf16ps
 * multiplies a 16 x 32 bf16 tile by a 32 x 16 one into 16 x 16 float sums, 16 times the
 * multiply-adds of vdpbf16ps per cycle where both exist.
 *
 * Its sums are not vdpbf16ps's: the hardware adds a tile's 16 pairs of products to each
 * float sum with its own internal rounding, which Intel does not specify to the bit (on the
 * Xeon these figures came from, about half of the sums of 16 pairs differ from vdpbf16ps's
 * in the last bit; tests/unit/test_gemm_bf16.c bounds the difference). So the AMX path has no
 * emulated twin: its bits are fixed by the K blocking alone (pairs grouped 16 at a time from
 * each K block's start, the blocks in order, as gemm_bf16.c lays them out), the same for any
 * row or column range, thread count or rank count, on CPUs with AMX-BF16. A run resumed on a
 * CPU without AMX continues on vdpbf16ps's bits.
 *
 * Panels: A's in blocks of 32 rows, each row's pairs contiguous (the tile's rows), pairs
 * rounded up to 16 with zeros; B's are gemm_bf16.c's panels of 32 columns with the pairs
 * rounded up likewise. */
#ifndef NN_CORE_GEMM_BF16_AMX_H
#define NN_CORE_GEMM_BF16_AMX_H

#include <stdint.h>

enum { NNI_AMX_ROWS = 32, NNI_AMX_PAIRS = 16 };

/* Whether this CPU has AMX-TILE and AMX-BF16 and the kernel lets this process use the tile
 * registers (asked once, for the whole process). */
int nni_amx_bf16_supported(void);

/* Loads the tile configuration on the calling thread before its products, and releases the
 * tiles after them (so that the kernel need not save them on a switch). */
void nni_amx_begin(void);
void nni_amx_end(void);

/* Rows [0, rows) of A (A(m, k) = A[m * a_rs + k * a_cs]), K values k0 .. k0 + 2 pairs - 1
 * (zero from K on), into panels of NNI_AMX_ROWS rows of `pairs` words (a multiple of
 * NNI_AMX_PAIRS); rows past `rows` zero. */
void nni_amx_pack_a(const float *A, int64_t a_rs, int64_t a_cs, int64_t rows, int64_t k0,
                    int64_t pairs, int64_t K, uint32_t *out);

/* C (rows x cols, row stride ldc) (+)= the packed A panels times B panels of 32 columns
 * (gemm_bf16.c's layout), over `pairs` pairs. */
void nni_amx_product_block(int64_t pairs, const uint32_t *a, const uint32_t *b, float *C,
                           int64_t ldc, int64_t rows, int64_t cols, int load_c);

/* `rounds` rounds of four independent tdpbf16ps on tiles already in the registers (after
 * nni_amx_begin), for core/bf16_rate.c to time: 4 x 16 x 16 x 32 x 2 flops a round. */
void nni_amx_rate_loop(int64_t rounds);

#endif
