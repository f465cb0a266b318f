/**
 * Admission for a full cache: TinyLFU's doorkeeper (Einziger, Friedman and
 * Manes, "TinyLFU: A Highly Efficient Cache Admission Policy"). A key is
 * let in, evicting the least recently used entry, only when it was already
 * seen in the current window; a key seen once is only remembered, in a
 * Bloom filter of fixed size.
 *
 * Why: a workload of more distinct tokens than the cache holds (the soak's
 * 100,000 round robin through 10,000 entries) otherwise inserts every token
 * and evicts it before it is asked for again. Each such entry lives long
 * enough to be promoted to V8's old space and dies there, so the cache that
 * never hits fills old space and makes the major collections that set the
 * tail. With the doorkeeper those one-off tokens are verified and dropped
 * young, while a token asked for twice within a window still gets in.
 *
 * The filter holds no key, only bits, so it allocates nothing per call.
 * A false positive (at most about 3 %, when the window is full) only admits
 * a key early.
 */

/** Bits of the filter per key of the window: 8 bits and 3 probes give about 3 % false positives when full. */
const BITS_PER_KEY = 8;
const PROBES = 3;

/** FNV-1a over the string's UTF-16 units. */
function fnv1a(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A second, independent-enough hash for double hashing: murmur3's finaliser of the first. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h | 1) >>> 0;
}

export class Doorkeeper {
  private readonly words: Uint32Array;
  private readonly mask: number;
  private recorded = 0;
  /** Keys remembered before the filter is cleared and a new window starts; at least 1. */
  readonly window: number;

  /** `window`: keys remembered per window, normally the cache's entry bound. */
  constructor(window: number) {
    this.window = Math.max(1, Math.floor(window));
    // At least 1,024 bits: a tiny cache's filter would otherwise let new keys in by false positive.
    let bits = 1024;
    while (bits < this.window * BITS_PER_KEY) bits *= 2;
    this.words = new Uint32Array(bits / 32);
    this.mask = bits - 1;
  }

  /**
   * Whether `key` was already seen in this window; remembers it when it
   * was not. After `window` new keys the filter is cleared, so a key must
   * come back within about one cache's worth of other keys to count.
   */
  seenBefore(key: string): boolean {
    const h1 = fnv1a(key);
    const h2 = mix(h1);
    let seen = true;
    for (let i = 0; i < PROBES; i++) {
      const bit = (h1 + i * h2) & this.mask;
      const word = bit >>> 5;
      const flag = 1 << (bit & 31);
      const held = this.words[word] ?? 0;
      if ((held & flag) === 0) {
        seen = false;
        this.words[word] = held | flag;
      }
    }
    if (seen) return true;
    if (++this.recorded >= this.window) {
      this.words.fill(0);
      this.recorded = 0;
    }
    return false;
  }
}
