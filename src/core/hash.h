/* The one hash: FNV-1a 64-bit, for fingerprints that tell a checkpoint's model, data and a
 * search's space apart (names, shapes, labels, config text). Not for security. */
#ifndef NN_CORE_HASH_H
#define NN_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define NN_HASH_INIT 0xcbf29ce484222325ull
uint64_t nni_hash_bytes(uint64_t hash, const void *data, size_t size);

#endif
