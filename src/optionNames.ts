import { InputError } from './errors.ts';

/** Every key of every member of a union (`keyof` alone gives only the keys all members share). */
type KeysOf<T> = T extends unknown ? keyof T : never;

/**
 * The names of an options type, listed once. The argument must name every key of `T` and nothing
 * else, so the build fails when an option is added to the type but not here, or is removed.
 */
export function optionNames<T>(names: Record<KeysOf<T> & string, true>): readonly string[] {
  return Object.freeze(Object.keys(names));
}

/** Where an options object was given, for the message: `defineJob({...})`, `tableRanges({...})`. */
export interface OptionsPlace {
  where: string;
  /** Prefix of a nested group, such as `retry.`; empty at the top level. */
  path?: string;
  /** Names people reach for from other libraries, mapped to ours: `concurrency` → `maxParallelism`. */
  aliases?: Readonly<Record<string, string>>;
}

/**
 * Refuses an options object with a key that is not a known option, naming the key and the known
 * option nearest to it. A misspelt option would otherwise be ignored and its default used, which
 * looks like a working job with the wrong limits.
 */
export function refuseUnknownOptions(
  options: object,
  known: readonly string[],
  place: OptionsPlace,
): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const path = place.path ?? '';
    const alias = place.aliases?.[key];
    const near = alias !== undefined && known.includes(alias) ? alias : nearestName(key, known);
    const hint =
      near === undefined
        ? `; expected one of: ${known.join(', ')}`
        : `; did you mean \`${path}${near}\`?`;
    throw new InputError(`Unknown option \`${path}${shownKey(key)}\` in ${place.where}${hint}`);
  }
}

/**
 * The candidate closest to `name` by edit distance (a swap of two neighbours counts as one edit,
 * case is ignored), or undefined when none is close enough to be the one meant. One edit in three
 * is close (at least two), and so is a name that one starts the other (`gzipped`, `maxWait`);
 * `banana` suggests nothing rather than something unrelated.
 */
export function nearestName(name: string, candidates: readonly string[]): string | undefined {
  const wanted = name.toLowerCase();
  const allowed = Math.max(2, Math.floor(wanted.length / 3));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const known = candidate.toLowerCase();
    const distance = editDistance(wanted, known);
    const [shorter, longer] = wanted.length < known.length ? [wanted, known] : [known, wanted];
    const close = distance <= allowed || (shorter.length >= 3 && longer.startsWith(shorter));
    if (close && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  // Three rows of the matrix suffice: a swap looks two rows back.
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, (before[j - 2] as number) + 1);
      current.push(d);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length] as number;
}

/** A key as it can be typed: bare when it is an identifier, quoted otherwise (so it stays one line). */
function shownKey(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key);
}
