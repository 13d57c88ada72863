/* hash.h — SHA-256 (content hashes, manifest checksums) and a fast
 * seeded 64-bit hash for duplicate detection. */
#ifndef AGENTOMICS_HASH_H
#define AGENTOMICS_HASH_H

#include <stddef.h>
#include <stdint.h>

typedef struct ao_sha256 {
    uint32_t h[8];
    uint64_t nbytes;
    unsigned char buf[64];
    size_t nbuf;
} ao_sha256;

/* Streaming SHA-256 (FIPS 180-4): init, update any number of times, final
 * writes the 32-byte digest. */
void ao_sha256_init(ao_sha256 *s);
void ao_sha256_update(ao_sha256 *s, const void *data, size_t len);
void ao_sha256_final(ao_sha256 *s, unsigned char out[32]);
/* Writes 64 lower-case hex digits and a NUL into hex[65]. */
void ao_sha256_hex(const unsigned char digest[32], char hex[65]);

/* 64-bit non-cryptographic hash of a byte string (well mixed, fast). */
uint64_t ao_hash64(const void *data, size_t len, uint64_t seed);

#endif
