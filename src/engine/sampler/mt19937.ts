// The 32-bit Mersenne Twister (std::mt19937), the generator llama.cpp's dist sampler uses, so a seed
// means the same stream of draws here as there.

const N = 624;
const M = 397;

export class Mt19937 {
  private readonly mt = new Uint32Array(N);
  private index = N;

  constructor(seed = 5489) {
    this.seed(seed);
  }

  seed(seed: number): void {
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1];
      mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
    this.index = N;
  }

  nextUint32(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /**
   * A double in [0, 1) built as libstdc++'s generate_canonical<double, 53> does from a 32-bit engine
   * (what std::uniform_real_distribution<double>(0, 1) returns): two draws, the first the low word.
   */
  nextDouble(): number {
    const lo = this.nextUint32();
    const hi = this.nextUint32();
    const r = (lo + hi * 4294967296) / 18446744073709551616;
    return r < 1 ? r : 1 - 2 ** -53;
  }

  /**
   * A float in [0, 1) as libstdc++'s std::uniform_real_distribution<float>(0, 1) makes it from a 32-bit engine
   * (generate_canonical<float, 24>): one draw, rounded to float and scaled by 2^-32; 1 becomes the float below 1.
   */
  nextFloat(): number {
    const r = Math.fround(this.nextUint32()) / 4294967296;
    return r < 1 ? r : Math.fround(1 - 2 ** -24);
  }

  clone(): Mt19937 {
    const c = new Mt19937(0);
    c.mt.set(this.mt);
    c.index = this.index;
    return c;
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i] & 0x80000000) | (mt[(i + 1) % N] & 0x7fffffff);
      mt[i] = mt[(i + M) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }
}
