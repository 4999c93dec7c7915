/**
 * Randomness is injected: ephemeral keys, connection ids, cookie secrets and
 * path challenges all come from an Rng, so a simulator run replays from its seed.
 */
export interface Rng {
  /** Fill `out` with random bytes. */
  fill(out: Uint8Array): void;
}

export function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  rng.fill(out);
  return out;
}

/**
 * Deterministic xoshiro128** generator seeded through splitmix32.
 * For tests and simulation only: NOT cryptographically secure.
 */
export class SeededRng implements Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  readonly seed: number;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    let x = this.seed;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Next uniformly random 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    this.s3 >>>= 0;
    return result;
  }

  /** Uniform float in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }

  fill(out: Uint8Array): void {
    for (let i = 0; i < out.length; i += 4) {
      let v = this.nextU32();
      for (let j = 0; j < 4 && i + j < out.length; j++) {
        out[i + j] = v & 0xff;
        v >>>= 8;
      }
    }
  }

  /** An independent generator derived from this one (for sub-components). */
  fork(): SeededRng {
    return new SeededRng(this.nextU32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
