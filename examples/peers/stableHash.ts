/**
 * A 32-bit hash (FNV-1a, then a murmur3 finaliser to spread nearby inputs) so that profiles,
 * completions and page links are the same on every run and every machine, with no random state
 * to share.
 */
export function stableHash(value: string | number): number {
  const text = String(value);
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/** Picks from `choices` with bits of `hash` starting at `shift`. */
export function pick<T>(choices: readonly T[], hash: number, shift = 0): T {
  return choices[(hash >>> shift) % choices.length] as T;
}
