/* rng.h — a small seeded PRNG (xoshiro256** seeded by splitmix64), and
 * the one rule by which every seed of a run is derived from the user's.
 * Every stochastic step of the learners draws from an ao_rng created
 * from the recipe's seed, so runs are reproducible bit for bit. */
#ifndef AGENTOMICS_RNG_H
#define AGENTOMICS_RNG_H

#include <stdint.h>
#include <stddef.h>

typedef struct ao_rng { uint64_t s[4]; } ao_rng;

/* What a derived seed is for. The values are part of the state format:
 * renumbering them changes every run's results. */
enum ao_seed_purpose {
    AO_SEED_LINEAGE = 1,    /* index: lineage number; the base of every other seed of the lineage */
    AO_SEED_SPLIT = 2,      /* index: split version; the agent's stratified train/validation split */
    AO_SEED_TRAIN = 3,      /* index: iteration; a builtin recipe's seed, a script's AO_SEED */
    AO_SEED_PROFILE = 4,    /* index: which sample of the dataset profile (0 k-mer, 1 positional) */
    AO_SEED_SMOKE = 5,      /* index: iteration; the mini splits of smoke runs */
    AO_SEED_LLM = 6,        /* index 0; the LLM client's retry jitter */
    AO_SEED_SELECTION = 7   /* base 0, index 0: prepare-data's selection slice (the same for every run on the data) */
};

/* A seed for `purpose` number `index` under `base`: two rounds of
 * splitmix64 over (base, purpose, index), kept to 31 bits: every RNG an
 * agent-written script may seed takes it (numpy and scikit-learn want
 * < 2^32, R an int32) and every JSON reader holds it exactly. Distinct
 * (purpose, index) pairs give independent streams; the values are stable
 * across versions (tests/unit/test_core.c checks documented ones). */
uint64_t ao_seed_derive(uint64_t base, enum ao_seed_purpose purpose, uint64_t index);

/* The state from a seed (splitmix64 expansion); then 64 random bits per call. */
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
