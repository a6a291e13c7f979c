/* bf16 pair words in AVX-512 registers, shared by the bf16 products' packers (core/gemm_bf16.c
 * for vdpbf16ps's panels, core/gemm_bf16_amx.c for AMX's): a pair word holds bf16(k) in its
 * low half and bf16(k + 1) in its high half, as both vdpbf16ps and AMX's tdpbf16ps read
 * them. Rounding by vcvtne2ps2bf16: nearest even, denormals to zero. */
#ifndef NN_CORE_BF16_WORDS_H
#define NN_CORE_BF16_WORDS_H

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#include <stdint.h>

#define NNI_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/* 16 floats into bf16 pair words with the 16 floats of the next K: lo[i] | hi[i] << 16. */
NNI_BF16_TARGET static inline __m512i nni_bf16_pair_words(__m512 lo, __m512 hi)
{
    const __m512i halves = (__m512i)_mm512_cvtne2ps_pbh(hi, lo); /* lo's 16, then hi's 16 */
    const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10,
                                                25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3,
                                                18, 2, 17, 1, 16, 0);
    return _mm512_permutexvar_epi16(interleave, halves);
}

/* The 16 pair words of K values k .. k + 31 of a line of `left` (<= 0: none) valid values
 * from `src` on (zero beyond). */
NNI_BF16_TARGET static inline __m512i nni_bf16_line_words(const float *src, int64_t left)
{
    const __mmask16 m0 = left >= 16 ? 0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
    const __mmask16 m1 = left >= 32 ? 0xffff
                         : left <= 16 ? 0 : (__mmask16)((1u << (left - 16)) - 1);
    return (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m1, src + 16),
                                        _mm512_maskz_loadu_ps(m0, src));
}

/* 16 x 16 words transposed in registers: r[j] element i becomes r[i] element j. */
NNI_BF16_TARGET static inline void nni_bf16_transpose16(__m512i r[16])
{
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    /* Then r[4g + q]'s 128-bit lane L holds column 4L + q of rows 4g .. 4g + 3. */
    for (int g = 0; g < 16; g += 4) {
        r[g] = _mm512_unpacklo_epi64(t[g], t[g + 2]);
        r[g + 1] = _mm512_unpackhi_epi64(t[g], t[g + 2]);
        r[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
        r[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
    }
    for (int q = 0; q < 4; q++) {
        const __m512i u0 = _mm512_shuffle_i32x4(r[q], r[4 + q], _MM_SHUFFLE(1, 0, 1, 0));
        const __m512i u1 = _mm512_shuffle_i32x4(r[q], r[4 + q], _MM_SHUFFLE(3, 2, 3, 2));
        const __m512i u2 = _mm512_shuffle_i32x4(r[8 + q], r[12 + q], _MM_SHUFFLE(1, 0, 1, 0));
        const __m512i u3 = _mm512_shuffle_i32x4(r[8 + q], r[12 + q], _MM_SHUFFLE(3, 2, 3, 2));
        t[q] = _mm512_shuffle_i32x4(u0, u2, _MM_SHUFFLE(2, 0, 2, 0));
        t[4 + q] = _mm512_shuffle_i32x4(u0, u2, _MM_SHUFFLE(3, 1, 3, 1));
        t[8 + q] = _mm512_shuffle_i32x4(u1, u3, _MM_SHUFFLE(2, 0, 2, 0));
        t[12 + q] = _mm512_shuffle_i32x4(u1, u3, _MM_SHUFFLE(3, 1, 3, 1));
    }
    for (int i = 0; i < 16; i++)
        r[i] = t[i];
}
#endif

#endif
