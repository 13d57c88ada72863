/* rng.h — a small seeded PRNG (xoshiro256** seeded by splitmix64).
 * Every stochastic step of the learners draws from an ao_rng created
 * from the recipe's seed, so runs are reproducible bit for bit. */
#ifndef AGENTOMICS_RNG_H
#define AGENTOMICS_RNG_H

#include <stdint.h>
#include <stddef.h>

typedef struct ao_rng { uint64_t s[4]; } ao_rng;

void ao_rng_seed(ao_rng *r, uint64_t seed);
uint64_t ao_rng_u64(ao_rng *r);
/* Uniform double in [0, 1). */
double ao_rng_uniform(ao_rng *r);
/* Uniform integer in [0, n) without modulo bias; n > 0. */
uint64_t ao_rng_below(ao_rng *r, uint64_t n);
/* Standard normal (Box–Muller, no cached second value). */
double ao_rng_normal(ao_rng *r);
/* Fisher–Yates shuffle of an int array. */
void ao_rng_shuffle_int(ao_rng *r, int *a, size_t n);

#endif
