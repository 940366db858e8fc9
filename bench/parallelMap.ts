// parallelMap's own overhead against p-map, side by side in one process:
// 1,000,000 no-op async items at concurrency 50, each variant 3 times in rotating order, median
// shown. Then 1,000 items that each sleep 1 ms, to show the calls really overlap.
//
//   npm run bench:map                    = node --expose-gc --import tsx bench/parallelMap.ts
//   BENCH_MAP_ITEMS=200000 npm run bench:map   a quick check
import { setTimeout as sleep } from 'node:timers/promises';
import pMap, { pMapIterable } from 'p-map';
import { parallelMap } from '../src/map/parallelMap.ts';

const items = Number(process.env.BENCH_MAP_ITEMS ?? 1_000_000);
const concurrency = 50;
const repetitions = 3;
const target = 1.2;
const gc = (globalThis as { gc?: () => void }).gc;

type Mapper = (n: number) => Promise<number>;
/** Each variant maps every input and returns a checksum, so no work can be skipped. */
type Variant = { name: string; run: (inputs: number[], fn: Mapper) => Promise<number> };

const variants: Variant[] = [
  {
    name: 'p-map (array)',
    run: async (inputs, fn) => sum(await pMap(inputs, fn, { concurrency })),
  },
  {
    name: 'parallelMap for await',
    run: async (inputs, fn) => {
      let total = 0;
      for await (const r of parallelMap(fn, inputs, { maxParallelism: concurrency })) {
        if (r.ok) total += r.value;
      }
      return total;
    },
  },
  {
    name: 'parallelMap for await, ordered',
    run: async (inputs, fn) => {
      let total = 0;
      const map = parallelMap(fn, inputs, { maxParallelism: concurrency, ordered: true });
      for await (const r of map) if (r.ok) total += r.value;
      return total;
    },
  },
  {
    name: 'parallelMap for await, retry attempts 3',
    run: async (inputs, fn) => {
      let total = 0;
      const retry = { attempts: 3, baseMs: 100, maxMs: 1000 };
      for await (const r of parallelMap(fn, inputs, { maxParallelism: concurrency, retry })) {
        if (r.ok) total += r.value;
      }
      return total;
    },
  },
  {
    name: 'parallelMap toArray',
    run: async (inputs, fn) => {
      const all = await parallelMap(fn, inputs, { maxParallelism: concurrency }).toArray();
      return sum(all.map((r) => (r.ok ? r.value : 0)));
    },
  },
  {
    name: 'p-map pMapIterable (streaming, ordered)',
    run: async (inputs, fn) => {
      let total = 0;
      for await (const value of pMapIterable(inputs, fn, { concurrency })) total += value;
      return total;
    },
  },
];

function sum(values: number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

async function timeIt(variant: Variant, inputs: number[], fn: Mapper, expected: number) {
  gc?.();
  const started = performance.now();
  const checksum = await variant.run(inputs, fn);
  const ms = performance.now() - started;
  if (checksum !== expected) throw new Error(`${variant.name}: checksum ${checksum} ≠ ${expected}`);
  return ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Runs every variant `repetitions` times, rotating who goes first, and prints a table. */
async function compare(title: string, count: number, fn: Mapper) {
  const inputs = Array.from({ length: count }, (_, i) => i);
  const expected = (count * (count - 1)) / 2;
  const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (let round = 0; round < repetitions; round++) {
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(round + k) % variants.length] as Variant;
      times.get(variant.name)?.push(await timeIt(variant, inputs, fn, expected));
    }
  }
  const base = median(times.get('p-map (array)') ?? []);
  console.log(`\n${title}\n`);
  console.log('| variant | median ms | runs ms | × p-map |');
  console.log('| --- | ---: | --- | ---: |');
  for (const [name, runs] of times) {
    const ms = median(runs);
    const shown = runs.map((r) => r.toFixed(0)).join(', ');
    console.log(`| ${name} | ${ms.toFixed(0)} | ${shown} | ${(ms / base).toFixed(2)} |`);
  }
  return { base, times };
}

const noop: Mapper = async (n) => n;
const napping: Mapper = async (n) => {
  await sleep(1);
  return n;
};

console.log(
  `node ${process.version}, concurrency ${concurrency}, ${repetitions} runs each in rotating order, gc between runs: ${gc ? 'yes' : 'no'}`,
);
// Warm-up: let the JIT see every variant before anything is timed.
for (const variant of variants) await timeIt(variant, [0, 1, 2], noop, 3);
for (const variant of variants) {
  const warm = Array.from({ length: 50_000 }, (_, i) => i);
  await timeIt(variant, warm, noop, (50_000 * 49_999) / 2);
}

const overhead = await compare(
  `${items.toLocaleString('en')} no-op async items, concurrency ${concurrency}`,
  items,
  noop,
);
await compare(
  `1,000 items sleeping 1 ms, concurrency ${concurrency} (serial: ≥ 1,000 ms)`,
  1000,
  napping,
);

console.log('');
for (const [name] of overhead.times) {
  if (!name.startsWith('parallelMap')) continue;
  const ratio = median(overhead.times.get(name) ?? []) / overhead.base;
  console.log(
    `${name} / p-map: ${ratio.toFixed(2)} (target ≤ ${target}: ${ratio <= target ? 'met' : 'MISSED'})`,
  );
}
