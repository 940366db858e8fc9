// One database connection per worker: load gzipped JSONL files into PostgreSQL
// with batched, idempotent inserts. The database's connection budget is the limit, so
// maxParallelism is the number of connections the job may hold, and running the job twice adds
// nothing.
//
//   npx sluice run examples/load-events.ts            (embedded PostgreSQL, demo files)
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { chunks, defineJob } from 'sluice';
import { createDemoEventFiles, eventFiles } from './demo/events.ts';

const dir = process.env.EVENTS_DIR ?? '.sluice/demo-events';
const batchRows = 1000;

interface Event {
  event_id: number;
  user_id: number;
  ts: string;
}

export default defineJob({
  name: process.env.JOB_NAME ?? 'load-events',
  source: chunks(eventFiles(dir), 2),
  // Postgres can spare 4 write connections for this job: one per live worker, across all machines.
  maxParallelism: Number(process.env.CAP ?? 4),
  retry: { attempts: 3 },
  async prepare({ sql }) {
    await createDemoEventFiles(dir);
    await sql`create table if not exists events (
      event_id bigint primary key, user_id bigint not null, ts timestamptz not null)`;
  },
  async each(file, { sql }) {
    let rows = 0;
    let batch: Event[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await sql`
        insert into events (event_id, user_id, ts)
        select * from unnest(${batch.map((e) => e.event_id)}::bigint[], ${batch.map((e) => e.user_id)}::bigint[],
                             ${batch.map((e) => e.ts)}::timestamptz[])
        on conflict do nothing`;
      rows += batch.length;
      batch = [];
    };
    const lines = createInterface({
      input: createReadStream(file).pipe(createGunzip()),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    for await (const line of lines) {
      if (line.trim() === '') continue;
      batch.push(JSON.parse(line) as Event);
      if (batch.length === batchRows) await flush();
    }
    await flush();
    return { file, rows };
  },
});
