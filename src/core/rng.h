/* Counter-based random numbers (Philox4x32-10), inside nntrain.
 *
 * Every random draw in nntrain is a pure function of (seed, purpose, epoch, index, layer)
 * plus a position inside that stream. Nothing carries hidden state from one step to the
 * next, so a run is reproducible bit for bit, resumes exactly from a checkpoint, and does
 * not depend on how many ranks share the work: a dropout mask for global sample 1234 is
 * the same whichever rank computes it. */
#ifndef NNI_CORE_RNG_H
#define NNI_CORE_RNG_H

#include <stdint.h>

typedef enum nni_rng_purpose {
    NNI_RNG_INIT = 1,     /* weight initialization: index = parameter tensor, layer = layer */
    NNI_RNG_SHUFFLE = 2,  /* per-epoch permutation of a split */
    NNI_RNG_SPLIT = 3,    /* validation split carved from train */
    NNI_RNG_DROPOUT = 4,  /* index = global sample index */
    NNI_RNG_AUGMENT = 5,  /* index = global sample index */
    NNI_RNG_RRELU = 6,    /* index = global sample index */
    NNI_RNG_SEARCH = 7,   /* random search draws: index = trial */
    NNI_RNG_NOISE = 8,    /* anything else keyed per sample */
    NNI_RNG_OVERSAMPLE = 9, /* data.oversample: epoch = class, index = added row of the class */
} nni_rng_purpose;

typedef struct nni_rng {
    uint32_t key[2];
    uint32_t counter[4];
    uint32_t block[4];
    int used; /* words of block already consumed */
    int has_spare_normal;
    float spare_normal;
} nni_rng;

/* One independent stream. `layer` and `purpose` must fit in 24 and 8 bits. */
nni_rng nni_rng_stream(uint64_t seed, nni_rng_purpose purpose, uint32_t epoch, uint64_t index,
                     uint32_t layer);

uint32_t nni_rng_u32(nni_rng *rng);
/* Uniform in [0, 1) with 24 random bits, exactly representable as float. */
float nni_rng_uniform(nni_rng *rng);
/* Uniform in [0, 1) with 53 random bits. */
double nni_rng_uniform_double(nni_rng *rng);
/* Standard normal (Box-Muller). */
float nni_rng_normal(nni_rng *rng);
/* Uniform integer in [0, bound) without modulo bias. */
uint32_t nni_rng_below(nni_rng *rng, uint32_t bound);

/* perm[0..n) = a uniformly random permutation of 0..n-1 (Fisher-Yates driven by the
 * stream (seed, purpose, epoch, 0, 0)). */
void nni_rng_permutation(uint64_t seed, nni_rng_purpose purpose, uint32_t epoch, int64_t *perm,
                         int64_t n);

#endif
