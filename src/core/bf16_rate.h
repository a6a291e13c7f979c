/* How fast this CPU's bf16 products can be against its float ones: the multiply-adds per
 * second of vdpbf16ps (two per lane) and of vfmadd231ps (one per lane), each in 512-bit
 * vectors on 12 independent accumulators, and where the CPU has AMX-BF16 those of its tiles'
 * tdpbf16ps (four independent tiles), measured once on the calling core.
 *
 * AVX512_BF16 does not promise a speed: AMD's Zen 4 runs vdpbf16ps at the rate of its float
 * FMAs, twice the multiply-adds, but an Intel Xeon of the Emerald Rapids generation (its AMX
 * units not exposed to the virtual machine) runs it at half that rate, the same
 * multiply-adds as float, so bf16 there trains slower than fp32 (the packing and rounding
 * cost the rest). The trainer says so at start. */
#ifndef NN_CORE_BF16_RATE_H
#define NN_CORE_BF16_RATE_H

typedef struct nni_bf16_rate {
    double fma_gflops;  /* 2 flops per lane per vfmadd231ps, one core */
    double bf16_gflops; /* 4 flops per lane per vdpbf16ps */
    double amx_gflops;  /* 16 x 16 x 32 x 2 flops per tdpbf16ps; 0 without AMX-BF16 */
} nni_bf16_rate;

/* The rates, measured the first time (about 5 ms, AMX's a few ms more) and kept; zeros
 * without AVX512_BF16. */
nni_bf16_rate nni_bf16_rate_measure(void);

/* Writes to buf a one-line note (no newline) when vdpbf16ps's products are not faster than
 * float ones at these rates (naming AMX's tiles where the CPU has them), and returns whether
 * it did. */
int nni_bf16_rate_note(nni_bf16_rate rate, char *buf, int size);

#endif
