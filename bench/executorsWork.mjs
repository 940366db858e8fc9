// The work per row of the executor benchmark, in plain JavaScript so that the raw worker threads
// (no sluice, no tsx) run exactly the code the job runs. BENCH_WORK picks it:
//   sha256  `rounds` chained sha256 digests: native crypto, an allocation and a handle per round
//   js      `rounds` x 400 integer mixing steps (about as long as sha256): pure JavaScript, no allocation
import { createHash } from 'node:crypto';

export function sha256Row(id, rounds) {
  let data = Buffer.from(String(id));
  for (let i = 0; i < rounds; i++) data = createHash('sha256').update(data).digest();
  return data.readUInt32BE(0);
}

export function mixRow(id, rounds) {
  let h = id | 0;
  for (let i = 0; i < rounds * 400; i++) {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

/** The row function BENCH_WORK names. */
export function workFor(kind) {
  if (kind === 'sha256') return sha256Row;
  if (kind === 'js') return mixRow;
  throw new Error(`BENCH_WORK must be sha256 or js, got ${kind}`);
}
