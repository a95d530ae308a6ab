/* The simulator's random numbers: xoshiro256** seeded through splitmix64, so a seed gives the
 * same stream on every machine (the C library's rand() does not). */
#ifndef QX_SIM_RNG_H
#define QX_SIM_RNG_H

#include <stdint.h>

typedef struct sim_rng {
  uint64_t s[4];
} sim_rng;

static inline uint64_t sim_splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static inline void sim_rng_seed(sim_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++)
    r->s[i] = sim_splitmix64(&seed);
}

static inline uint64_t sim_rng_next(sim_rng *r) {
  uint64_t *s = r->s;
  uint64_t x = s[1] * 5;
  uint64_t result = ((x << 7) | (x >> 57)) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = (s[3] << 45) | (s[3] >> 19);
  return result;
}

/* Uniform in [0, n), n > 0 (the tiny modulo bias is irrelevant for a workload). */
static inline uint64_t sim_rng_below(sim_rng *r, uint64_t n) {
  return sim_rng_next(r) % n;
}

#endif
