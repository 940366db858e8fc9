// Micro-batching: near-real-time work with batch semantics. A live feed of sensor
// readings (one every millisecond or so) is cut into batches that close at 100 readings or
// 200 ms after their first, whichever comes first; each batch is one durable task, written with
// one idempotent upsert. The feed restarts after the last stored position, so a crash neither
// loses nor repeats a reading.
//
//   npx sluice run examples/micro-batch.ts            (embedded PostgreSQL)
import { setTimeout as sleep } from 'node:timers/promises';
import { defineJob, microBatch, succeeded, upsert } from 'sluice';

const readings = Number(process.env.READINGS ?? 2000);

interface Reading {
  seq: number;
  sensor: string;
  celsius: number;
}

/** The feed: readings after position `after`, arriving at a steady pace, until `readings`. */
async function* sensorFeed(after: string | undefined): AsyncGenerator<Reading> {
  for (let seq = after === undefined ? 1 : Number(after) + 1; seq <= readings; seq++) {
    await sleep(1);
    yield { seq, sensor: `s${seq % 8}`, celsius: 18 + ((seq * 37) % 100) / 10 };
  }
}

export default defineJob({
  name: process.env.JOB_NAME ?? 'micro-batch',
  source: microBatch(sensorFeed, {
    maxItems: 100,
    maxWaitMs: 200,
    position: (reading) => String(reading.seq),
  }),
  maxParallelism: 4,
  async prepare({ sql }) {
    await sql`create table if not exists sensor_readings (
      seq bigint primary key, sensor text not null, celsius numeric(5,1) not null)`;
  },
  async run(batch, { sql }) {
    await upsert(sql, 'sensor_readings', batch, { key: ['seq'], update: 'all' });
    return batch.map((reading) => succeeded(reading));
  },
});
