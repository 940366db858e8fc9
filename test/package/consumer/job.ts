// A TypeScript job in a CommonJS project (what `npm init -y` makes): tsx compiles it to CommonJS,
// and its `require('sluice')` must reach the CLI's own copy, or PermanentError is retried.
import { chunks, defineJob, PermanentError } from 'sluice';

export default defineJob({
  name: 'consumer-cjs-ts',
  source: chunks(
    Array.from({ length: 40 }, (_, i) => i + 1),
    10,
  ),
  maxParallelism: 2,
  retry: { attempts: 3, baseMs: 10 },
  async each(item, { sql }) {
    if (item === 7) throw new PermanentError('seven is refused');
    const [row] = await sql<{ doubled: number }[]>`select ${item}::int * 2 as doubled`;
    return row?.doubled;
  },
});
