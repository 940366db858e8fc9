// One cell of the claims bench: `claimers` connections each run cycles (claim one task, complete
// it) on a fresh job for `seconds`, while another connection counts the job's running tasks as
// often as it can (a 2-ms pause between reads) and notes every read above the cap.
import type { Sql } from 'postgres';
import type { Design } from './design.ts';

export interface CellSpec {
  claimers: number;
  cap: number;
  seconds: number;
  tasks: number;
}

export interface CellResult extends CellSpec {
  design: string;
  elapsedS: number;
  cycles: number;
  /** Claims that found no room (cap full) or no task. */
  empty: number;
  claimMs: number[];
  completeMs: number[];
  maxRunning: number;
  samples: number;
  overCap: number;
  /** Bookkeeping that disagreed with the tasks after the cell, or tasks left running. */
  problem?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function startCapSampler(sql: Sql, design: Design, jobId: string, cap: number) {
  const state = { samples: 0, maxRunning: 0, overCap: 0, stopped: false };
  const loop = (async () => {
    while (!state.stopped) {
      const [row] = await sql.unsafe<{ running: number }[]>(
        `select count(*)::int as running from ${design.schema}.tasks
         where job_id = $1 and status = 'running'`,
        [jobId],
      );
      const running = row?.running ?? 0;
      state.samples++;
      state.maxRunning = Math.max(state.maxRunning, running);
      if (running > cap) state.overCap++;
      await sleep(2);
    }
  })();
  return {
    state,
    stop: async () => {
      state.stopped = true;
      await loop;
    },
  };
}

export async function runCell(
  design: Design,
  admin: Sql,
  conns: readonly Sql[],
  spec: CellSpec,
): Promise<CellResult> {
  const jobId = await design.createJob(spec.cap, spec.tasks);
  await admin.unsafe(`analyze ${design.schema}.tasks`);
  const result: CellResult = {
    ...spec,
    design: design.key,
    elapsedS: 0,
    cycles: 0,
    empty: 0,
    claimMs: [],
    completeMs: [],
    maxRunning: 0,
    samples: 0,
    overCap: 0,
  };
  const sampler = startCapSampler(admin, design, jobId, spec.cap);
  const started = performance.now();
  const deadline = started + spec.seconds * 1000;
  const claimer = async (sql: Sql, owner: number) => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const task = await design.claim(sql, jobId, owner);
      const t1 = performance.now();
      if (!task) {
        result.empty++;
        await sleep(1);
        continue;
      }
      result.claimMs.push(t1 - t0);
      if (!(await design.complete(sql, jobId, task))) {
        throw new Error(`${design.key}: completion of task ${task.seq} was refused`);
      }
      result.completeMs.push(performance.now() - t1);
      result.cycles++;
    }
  };
  await Promise.all(conns.slice(0, spec.claimers).map((sql, i) => claimer(sql, i + 1)));
  result.elapsedS = (performance.now() - started) / 1000;
  await sampler.stop();
  Object.assign(result, {
    samples: sampler.state.samples,
    maxRunning: sampler.state.maxRunning,
    overCap: sampler.state.overCap,
  });
  if (result.cycles >= spec.tasks) result.problem = 'ran out of tasks: raise BENCH_TASKS';
  const [left] = await admin.unsafe<{ n: number }[]>(
    `select count(*)::int as n from ${design.schema}.tasks where job_id = $1 and status = 'running'`,
    [jobId],
  );
  if (left?.n) result.problem = `${left.n} tasks left running`;
  result.problem ??= await design.check?.(admin, jobId);
  await admin.unsafe(`delete from ${design.schema}.jobs where id = $1`, [jobId]);
  return result;
}
