// The systems of the throughput bench. Each enqueues (or plans) its units untimed, then is timed
// from starting its workers until every unit is recorded done in the database: the same
// whole-run wall time for all. Work is a no-op; concurrency is the bench's cap for all.
import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { chunks, defineJob, runJob, Store } from '../../src/index.ts';
import { connect } from './scratch.ts';

export interface Spec {
  /** Items in all. */
  items: number;
  /** Items per task (sluice chunk, graphile-worker batch job); 1 = one item per task. */
  perTask: number;
  cap: number;
}

export interface System {
  key: string;
  /** Timed milliseconds from starting the workers to the last completion recorded. */
  run(url: string, spec: Spec): Promise<number>;
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const silent = new Logger(() => () => {});

/** sluice through the library: `chunks(ids, perTask)`, a no-op `each`, planned with `detach`. */
export const sluice: System = {
  key: 'sluice',
  async run(url, spec) {
    const store = await Store.open(url, { concurrency: spec.cap });
    try {
      const job = defineJob({
        name: 'throughput',
        source: chunks(ids(spec.items), spec.perTask),
        maxParallelism: spec.cap,
        each: () => {},
      });
      await runJob(job, { sourceUrl: url, store, detach: true });
      const started = performance.now();
      const summary = await runJob(job, { sourceUrl: url, store });
      const ms = performance.now() - started;
      if (summary.status !== 'done' || summary.done !== spec.items)
        throw new Error(`sluice ended ${summary.status} with ${summary.done}/${spec.items} items`);
      return ms;
    } finally {
      await store.close();
    }
  },
};

/** graphile-worker options beyond its defaults: local queue and batched completions. */
export interface GraphileTuning {
  localQueueSize: number;
  completeJobBatchDelay: number;
}

/** graphile-worker; with `perTask` > 1 each job's payload is an array (a batch job). */
export function graphileWorker(key: string, tuning?: GraphileTuning): System {
  return {
    key,
    async run(url, spec) {
      const utils = await makeWorkerUtils({ connectionString: url, logger: silent });
      const units = spec.items / spec.perTask;
      try {
        await utils.migrate();
        const all = ids(spec.items);
        const jobs = Array.from({ length: units }, (_, u) => {
          const slice = all.slice(u * spec.perTask, (u + 1) * spec.perTask);
          return { identifier: 'noop', payload: spec.perTask === 1 ? { id: slice[0] } : slice };
        });
        for (let at = 0; at < jobs.length; at += 5000)
          await utils.addJobs(jobs.slice(at, at + 5000));
      } finally {
        await utils.release();
      }
      let seen = 0;
      let allSeen = () => {};
      const everyJobRan = new Promise<void>((done) => {
        allSeen = done;
      });
      // A pool of the bench's own, ended before the cell's database is dropped: one graphile-worker
      // makes from a connection string may still hold idle connections after stop(), and their
      // termination by the drop is an unhandled 'error' event.
      const pgPool = new pg.Pool({ connectionString: url, max: spec.cap + 2 });
      pgPool.on('error', () => {});
      const started = performance.now();
      const runner = await run({
        pgPool,
        concurrency: spec.cap,
        noHandleSignals: true,
        logger: silent,
        taskList: {
          noop: async () => {
            if (++seen === units) allSeen();
          },
        },
        preset: tuning && {
          worker: {
            localQueue: { size: tuning.localQueueSize },
            completeJobBatchDelay: tuning.completeJobBatchDelay,
            failJobBatchDelay: tuning.completeJobBatchDelay,
          },
        },
      });
      await everyJobRan;
      // Stopping flushes the batched completions; a completed job is deleted.
      await runner.stop();
      const ms = performance.now() - started;
      await pgPool.end();
      await expectNone(url, 'select count(*)::int as n from graphile_worker.jobs', key);
      return ms;
    },
  };
}

/** pg-boss: one worker per unit of concurrency, each fetching `batchSize` jobs at once. */
export function pgBoss(batchSize: number): System {
  return {
    key: `pg-boss (batches of ${batchSize})`,
    async run(url, spec) {
      const boss = new PgBoss({ connectionString: url, supervise: false, schedule: false });
      let stopping = false;
      boss.on('error', (error) => {
        if (!stopping) process.stderr.write(`pg-boss: ${error.message}\n`);
      });
      await boss.start();
      try {
        await boss.createQueue('noop');
        const all = ids(spec.items);
        for (let at = 0; at < all.length; at += 5000)
          await boss.insert(all.slice(at, at + 5000).map((id) => ({ name: 'noop', data: { id } })));
        let seen = 0;
        const started = performance.now();
        for (let w = 0; w < spec.cap; w++) {
          // 0.5 s is the least polling interval pg-boss accepts; a full batch fetches again at once.
          await boss.work('noop', { batchSize, pollingIntervalSeconds: 0.5 }, async (jobs) => {
            seen += jobs.length;
          });
        }
        // pg-boss completes a batch after its handler returns, without waiting: read the table.
        const sql = connect(url);
        try {
          for (;;) {
            if (seen >= spec.items) {
              const [row] = await sql<{ n: number }[]>`
                select count(*)::int as n from pgboss.job where name = 'noop' and state <> 'completed'`;
              if (row?.n === 0) break;
            }
            await new Promise((done) => setTimeout(done, 5));
          }
        } finally {
          await sql.end({ timeout: 5 });
        }
        return performance.now() - started;
      } finally {
        stopping = true;
        await boss.stop({ graceful: false, wait: true });
      }
    },
  };
}

async function expectNone(url: string, query: string, who: string): Promise<void> {
  const sql = connect(url);
  try {
    const [row] = await sql.unsafe<{ n: number }[]>(query);
    if (row?.n !== 0) throw new Error(`${who}: ${row?.n} jobs left after the run`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
