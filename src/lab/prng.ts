/**
 * Seeded, stateless randomness for the lab. Population records are derived from `(seed, index)`
 * on demand rather than stored, so a population of millions costs a few kilobytes: every
 * attribute is `hash32(seed, index, salt)`, reproducible in any order.
 */

/** A 32-bit avalanche of three inputs (murmur3 finaliser over a splitmix-style mix). */
export function hash32(a: number, b: number, c = 0): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35)
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) ^ Math.imul(c + 0x165667b1, 0x27d4eb2f)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** `hash32` scaled to [0, 1). */
export function unit(a: number, b: number, c = 0): number {
  return hash32(a, b, c) / 4294967296
}

/**
 * A fast sequential PRNG (mulberry32) for simulators: one per actor, seeded from the scenario
 * seed and the actor's index, so adding an actor never changes another actor's behaviour.
 */
export class Rng {
  #state: number
  constructor(seed: number) {
    this.#state = seed >>> 0
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  /** Integer in [min, max] inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }
  /** Uniform real in [min, max). */
  range(min: number, max: number): number {
    return min + this.next() * (max - min)
  }
  /** Exponentially distributed with the given mean (think times, gaps between sessions). */
  exp(mean: number): number {
    return -Math.log(1 - this.next()) * mean
  }
  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p
  }
  /** One element of a non-empty array. */
  pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.next() * values.length)] as T
  }
}

/** Parses a seed given as a number or any string (hashed), for CLI flags. */
export function toSeed(value: string | number): number {
  if (typeof value === 'number') return value >>> 0
  if (/^\d+$/.test(value)) return Number(value) >>> 0
  let h = 2166136261
  for (let i = 0; i < value.length; i++) h = Math.imul(h ^ value.charCodeAt(i), 16777619)
  return h >>> 0
}
