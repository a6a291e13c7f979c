/* FNV-1a 64-bit (see hash.h). */
#include "core/hash.h"

uint64_t nni_hash_bytes(uint64_t hash, const void *data, size_t size)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++) {
        hash ^= p[i];
        hash *= 0x100000001b3ull;
    }
    return hash;
}
