// What migration 0014 costs the writers: chunks recorded (claim one chunk of 100 items, record
// its outcomes, 5 failed) by 4 connections for BENCH_WRITE_SECONDS (8), with its write-side parts
// and without them, alternating twice. "Without" disables the throughput rollup's triggers and
// drops the three indexes it added on outcomes; the stored error_pattern columns stay (they
// cannot be switched off), so their cost is in both.
import type { Sql } from 'postgres';
import { failed, type Outcome, succeeded } from '../../src/job/outcome.ts';
import { claimTasks } from '../../src/store/claim.ts';
import type { Store } from '../../src/store/index.ts';
import { recordChunk } from '../../src/store/outcomes.ts';

const seconds = Number(process.env.BENCH_WRITE_SECONDS ?? 8);
const writers = 4;
const chunk = 100;

const triggers = [
  'tasks_throughput_inserts',
  'tasks_throughput_updates',
  'tasks_throughput_deletes',
];
const indexes = {
  outcomes_item_key: `(job_id, (sluice.item_key(item)) collate "C")`,
  outcomes_error_text: `using gin (to_tsvector('simple', error)) where not ok`,
  outcomes_error_pattern: `(job_id, error_pattern, task_seq, idx) where not ok and not superseded`,
};

export async function setWriteSide(
  admin: Sql,
  on: boolean,
  parts = { triggers: true, indexes: true },
) {
  for (const t of parts.triggers ? triggers : []) {
    await admin.unsafe(`alter table sluice.tasks ${on ? 'enable' : 'disable'} trigger ${t}`);
  }
  for (const [name, definition] of parts.indexes ? Object.entries(indexes) : []) {
    await admin.unsafe(
      on
        ? `create index if not exists ${name} on sluice.outcomes ${definition}`
        : `drop index if exists sluice.${name}`,
    );
  }
}

export async function phase(store: Store, conns: readonly Sql[], owner: number, label: string) {
  const { job } = await store.findOrCreateJob(
    {
      name: `bench-write-${label}-${Date.now()}`,
      source: 'bench',
      fingerprint: 'b',
      maxParallelism: 64,
      maxAttempts: 3,
    },
    async function* () {
      for (let c = 0; c < 20_000; c++) yield { payload: c, items: chunk };
    },
  );
  const until = performance.now() + seconds * 1000;
  let chunks = 0;
  await Promise.all(
    conns.map(async (db) => {
      while (performance.now() < until) {
        const [task] = await claimTasks(db, job.id, owner, 1);
        if (!task) break;
        const outcomes: Outcome[] = Array.from({ length: chunk }, (_, i) => {
          const item = { id: `w-${task.seq}-${i}` };
          return i % 20 === 3
            ? failed(item, new Error(`row ${task.seq * chunk + i} is bad`))
            : succeeded(item, i);
        });
        await recordChunk(db, { jobId: job.id, seq: task.seq, epoch: task.epoch }, 1, outcomes);
        chunks++;
      }
    }),
  );
  return chunks / seconds;
}

/** Chunks per second with and without 0014's write side, as markdown table rows. */
export async function measureWriteCost(
  store: Store,
  admin: Sql,
  conns: readonly Sql[],
  owner: number,
) {
  const rates: Record<'with' | 'without', number[]> = { with: [], without: [] };
  for (const side of ['with', 'without', 'without', 'with'] as const) {
    await setWriteSide(admin, side === 'with');
    rates[side].push(await phase(store, conns, owner, side));
  }
  await setWriteSide(admin, true);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { with: mean(rates.with), without: mean(rates.without), writers, chunk, seconds };
}
