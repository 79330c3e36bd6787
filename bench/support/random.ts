/**
 * A small seeded pseudo-random generator (mulberry32) so that every benchmark round picks the
 * same "random" tiles and indices run after run, and a figure can be reproduced. It is not for
 * anything secret.
 */

/** Random draws reproducible numbers from a 32-bit seed. */
export interface Random {
  /** below returns an integer in [0, n) for 0 < n ≤ 2^32. */
  below(n: number): number;
}

/** createRandom returns a {@link Random} seeded with `seed`. */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return { below: (n) => Math.floor(next() * n) };
}
