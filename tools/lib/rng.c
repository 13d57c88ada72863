/* rng.c — xoshiro256** and seed derivation (rng.h). */
#include <math.h>
#include "agentomics/rng.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t ao_seed_derive(uint64_t base, enum ao_seed_purpose purpose, uint64_t index)
{
    uint64_t x = base, h = splitmix64(&x);
    x = h ^ ((uint64_t)purpose << 56) ^ (index * 0xd1b54a32d192ed03ULL);
    return splitmix64(&x) >> 33;
}

void ao_rng_seed(ao_rng *r, uint64_t seed)
{
    int i;
    for (i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t ao_rng_u64(ao_rng *r)
{
    uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double ao_rng_uniform(ao_rng *r) { return (double)(ao_rng_u64(r) >> 11) * 0x1.0p-53; }

uint64_t ao_rng_below(ao_rng *r, uint64_t n)
{
    uint64_t lim = -n % n, x;   /* reject the short tail so every value is equally likely */
    do x = ao_rng_u64(r); while (x < lim);
    return x % n;
}

double ao_rng_normal(ao_rng *r)
{
    double u1 = ao_rng_uniform(r), u2 = ao_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void ao_rng_shuffle_int(ao_rng *r, int *a, size_t n)
{
    size_t i;
    for (i = n; i > 1; i--) {
        size_t j = (size_t)ao_rng_below(r, i);
        int t = a[i - 1]; a[i - 1] = a[j]; a[j] = t;
    }
}
