/* Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11).
 * The 128-bit counter holds (block, index low, index high ^ epoch mix, purpose|layer);
 * the 64-bit key is the seed. */
#include "core/rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static void philox_round(uint32_t ctr[4], const uint32_t key[2])
{
    uint64_t p0 = (uint64_t)PHILOX_M0 * ctr[0];
    uint64_t p1 = (uint64_t)PHILOX_M1 * ctr[2];
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    uint32_t out0 = hi1 ^ ctr[1] ^ key[0];
    uint32_t out2 = hi0 ^ ctr[3] ^ key[1];
    ctr[0] = out0;
    ctr[1] = lo1;
    ctr[2] = out2;
    ctr[3] = lo0;
}

static void philox_block(const uint32_t counter[4], const uint32_t key_in[2], uint32_t out[4])
{
    uint32_t ctr[4] = {counter[0], counter[1], counter[2], counter[3]};
    uint32_t key[2] = {key_in[0], key_in[1]};
    for (int round = 0; round < 10; round++) {
        philox_round(ctr, key);
        key[0] += PHILOX_W0;
        key[1] += PHILOX_W1;
    }
    for (int i = 0; i < 4; i++)
        out[i] = ctr[i];
}

nni_rng nni_rng_stream(uint64_t seed, nni_rng_purpose purpose, uint32_t epoch, uint64_t index,
                     uint32_t layer)
{
    nni_rng rng = {0};
    rng.key[0] = (uint32_t)seed;
    rng.key[1] = (uint32_t)(seed >> 32);
    rng.counter[0] = 0; /* block counter inside the stream */
    rng.counter[1] = (uint32_t)index;
    /* The epoch and the high half of the index share a word; indices stay below 2^32 in
     * practice, and the multiplier keeps (epoch, index_hi) pairs from colliding. */
    rng.counter[2] = epoch ^ ((uint32_t)(index >> 32) * 0x85EBCA6Bu);
    rng.counter[3] = ((uint32_t)purpose << 24) | (layer & 0xFFFFFFu);
    rng.used = 4;
    return rng;
}

uint32_t nni_rng_u32(nni_rng *rng)
{
    if (rng->used == 4) {
        philox_block(rng->counter, rng->key, rng->block);
        rng->counter[0]++;
        rng->used = 0;
    }
    return rng->block[rng->used++];
}

float nni_rng_uniform(nni_rng *rng)
{
    return (float)(nni_rng_u32(rng) >> 8) * (1.0f / 16777216.0f);
}

double nni_rng_uniform_double(nni_rng *rng)
{
    uint64_t hi = nni_rng_u32(rng) >> 5, lo = nni_rng_u32(rng) >> 6;
    return ((double)hi * 67108864.0 + (double)lo) * (1.0 / 9007199254740992.0);
}

float nni_rng_normal(nni_rng *rng)
{
    if (rng->has_spare_normal) {
        rng->has_spare_normal = 0;
        return rng->spare_normal;
    }
    double u1 = 1.0 - nni_rng_uniform_double(rng); /* (0, 1]: log stays finite */
    double u2 = nni_rng_uniform_double(rng);
    double radius = sqrt(-2.0 * log(u1));
    double angle = 6.283185307179586 * u2;
    rng->spare_normal = (float)(radius * sin(angle));
    rng->has_spare_normal = 1;
    return (float)(radius * cos(angle));
}

uint32_t nni_rng_below(nni_rng *rng, uint32_t bound)
{
    /* Lemire's nearly divisionless method. */
    uint64_t m = (uint64_t)nni_rng_u32(rng) * bound;
    uint32_t low = (uint32_t)m;
    if (low < bound) {
        uint32_t threshold = (uint32_t)(-bound) % bound;
        while (low < threshold) {
            m = (uint64_t)nni_rng_u32(rng) * bound;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void nni_rng_permutation(uint64_t seed, nni_rng_purpose purpose, uint32_t epoch, int64_t *perm,
                         int64_t n)
{
    nni_rng rng = nni_rng_stream(seed, purpose, epoch, 0, 0);
    for (int64_t i = 0; i < n; i++)
        perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)nni_rng_below(&rng, (uint32_t)(i + 1));
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}
