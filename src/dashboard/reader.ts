import type { JobRow, Store } from '../store/index.ts';
import type { DashboardReader, JobDetail, JobSummary, SearchHit } from './model.ts';

/** Rows a job page shows of each list; the dead letters' total says how many more there are. */
const shown = { failed: 20, letters: 50, groups: 20, hits: 50 };

const date = (iso: string | null) => (iso === null ? null : new Date(iso));

type StoreSummary = Awaited<ReturnType<Store['dashboard']['jobs']>>[number];

function summary(job: StoreSummary): JobSummary {
  const running = job.status === 'running';
  return {
    name: job.name,
    status: job.status,
    statusReason: job.statusReason,
    unit: job.unit,
    totalItems: job.totalItems,
    doneItems: job.doneItems,
    failedItems: job.failedItems,
    ratePerSecond: running ? job.rate : undefined,
    etaSeconds: running ? (job.etaS ?? undefined) : undefined,
    startedAt: new Date(job.startedAt),
    finishedAt: date(job.finishedAt),
    maxParallelism: job.cap,
    processes: job.processes,
  };
}

/**
 * The dashboard's reads, through the Store's own queries (src/store/dashboard/): the dashboard
 * holds no SQL, so a page shows what `sluice status` and `sluice dlq` would.
 */
export function storeReader(store: Store): DashboardReader {
  const reads = () => store.dashboard;

  /** The job's row of the list; a job older than the list's newest 100 is read on its own. */
  const summaryOf = async (row: JobRow): Promise<JobSummary> => {
    const listed = (await reads().jobs()).find((job) => job.id === row.id);
    if (listed) return summary(listed);
    const counts = await store.counts(row.id);
    return summary({
      id: row.id,
      name: row.name,
      status: row.status,
      statusReason: row.statusReason,
      unit: row.unit,
      totalItems: row.totalItems,
      doneItems: counts.done.items,
      failedItems: counts.failed.items,
      rate: 0,
      etaS: null,
      startedAt: row.createdAt.toISOString(),
      finishedAt: row.finishedAt?.toISOString() ?? null,
      elapsedS: 0,
      cap: row.maxParallelism,
      processes: 0,
    });
  };

  const findJob = async (name: string) => (store.fresh ? undefined : store.findJob(name));

  return {
    async jobs() {
      if (store.fresh) return [];
      return (await reads().jobs()).map(summary);
    },

    async job(name): Promise<JobDetail | undefined> {
      const row = await findJob(name);
      if (!row) return undefined;
      const q = reads();
      const [jobSummary, series, tasks, running, failed, letters, groups, processes] =
        await Promise.all([
          summaryOf(row),
          q.throughput(row.id),
          q.tasksByState(row.id),
          q.runningTasks(row.id),
          q.failedTasks(row.id, { limit: shown.failed }),
          q.deadLetters(row.id, { limit: shown.letters }),
          q.failureGroups(row.id, shown.groups),
          q.processes(row.id),
        ]);
      return {
        summary: jobSummary,
        source: row.source,
        tasks: {
          pending: tasks.pending.tasks,
          running: tasks.running.tasks,
          done: tasks.done.tasks,
          failed: tasks.failed.tasks,
        },
        throughput: series.points.map((p) => ({
          at: new Date(p.at),
          itemsPerSecond: p.itemsPerS,
          failuresPerSecond: p.failuresPerS,
        })),
        running: running.map((t) => ({
          seq: t.seq,
          host: t.host,
          pid: t.pid,
          since: date(t.since),
          attempt: t.attempt,
        })),
        failed: failed.map(({ seq, attempts, error, stack }) => ({ seq, attempts, error, stack })),
        deadLetters: {
          total: letters.total,
          letters: letters.letters.map((l) => ({
            key: l.key,
            error: l.error,
            attempts: l.attempts,
            lastFailedAt: new Date(l.lastFailedAt),
          })),
        },
        failureGroups: groups.map((g) => ({
          message: g.pattern,
          count: g.count,
          sampleKeys: g.samples,
        })),
        processes: processes.map((p) => ({
          host: p.host,
          pid: p.pid,
          startedAt: date(p.startedAt),
          lastSeenAt: date(p.lastSeenAt),
          alive: p.alive,
          tasksHeld: p.tasksHeld,
        })),
      };
    },

    async deadLetter(name, key) {
      const row = await findJob(name);
      const letter = row && (await store.deadLetter(row.id, key));
      if (!letter) return undefined;
      const { payload, error, stack, attempts } = letter;
      return { key, payload, error, stack, attempts };
    },

    /** Items whose key starts with the text, and failures whose error has its words. */
    async search(name, text) {
      const row = await findJob(name);
      if (!row) return undefined;
      const q = reads();
      const [byKey, byError] = await Promise.all([
        q.search(row.id, { key: text, limit: shown.hits }),
        q.search(row.id, { text, limit: shown.hits }),
      ]);
      const hits: SearchHit[] = [];
      const seen = new Set<string>();
      for (const found of [byKey, byError]) {
        for (const o of found.outcomes) {
          const id = `o:${o.taskSeq}:${o.idx}`;
          if (seen.has(id)) continue;
          seen.add(id);
          hits.push({
            kind: 'outcome',
            key: o.key ?? `task ${o.taskSeq} item ${o.idx}`,
            ok: o.ok,
            error: o.error,
            at: new Date(o.at),
          });
        }
        for (const d of found.deadLetters) {
          if (seen.has(`d:${d.key}`)) continue;
          seen.add(`d:${d.key}`);
          hits.push({
            kind: 'dead letter',
            key: d.key,
            ok: false,
            error: d.error,
            at: new Date(d.lastFailedAt),
          });
        }
      }
      return hits;
    },
  };
}
