import type { JobRow, Store } from '../store/index.ts';
import type { DashboardReader, FailureGroup, JobDetail, JobSummary } from './model.ts';
import { RateSamples } from './rateSamples.ts';

/** Dead letters read for a job page; `total` says how many more there are. */
const lettersShown = 50;
const failedShown = 20;

/**
 * The dashboard's reads, through the Store's own operations: the dashboard holds no SQL, so a
 * page shows exactly what `sluice status` and `sluice dlq` would.
 */
export function storeReader(store: Store): DashboardReader {
  const rates = new RateSamples();

  const summarize = async (row: JobRow): Promise<JobSummary> => {
    const counts = await store.counts(row.id);
    const doneItems = counts.done.items;
    const failedItems = counts.failed.items;
    rates.record(row.name, doneItems, failedItems);
    const ratePerSecond = row.status === 'running' ? rates.rate(row.name) : undefined;
    const left = Math.max(0, row.totalItems - doneItems - failedItems);
    return {
      name: row.name,
      status: row.status,
      statusReason: row.statusReason,
      unit: row.unit,
      totalItems: row.totalItems,
      doneItems,
      failedItems,
      ratePerSecond,
      etaSeconds: ratePerSecond ? left / ratePerSecond : undefined,
      startedAt: row.createdAt,
      finishedAt: row.finishedAt,
      maxParallelism: row.maxParallelism,
      processes: 0,
    };
  };

  return {
    async jobs() {
      if (store.fresh) return [];
      return Promise.all((await store.listJobs()).map(summarize));
    },

    async job(name): Promise<JobDetail | undefined> {
      const row = store.fresh ? undefined : await store.findJob(name);
      if (!row) return undefined;
      const [summary, counts, failed, deadLetters] = await Promise.all([
        summarize(row),
        store.counts(row.id),
        store.failed(row.id, failedShown),
        store.deadLetters(row.id, lettersShown),
      ]);
      return {
        summary,
        source: row.source,
        tasks: {
          pending: counts.pending.tasks,
          running: counts.running.tasks,
          done: counts.done.tasks,
          failed: counts.failed.tasks,
        },
        throughput: rates.series(row.name),
        running: [],
        failed: failed.map((f) => ({ ...f, stack: null })),
        deadLetters: {
          total: deadLetters.total,
          letters: deadLetters.letters.map(({ key, error, attempts, lastFailedAt }) => ({
            key,
            error,
            attempts,
            lastFailedAt,
          })),
        },
        failureGroups: groupFailures(deadLetters.letters),
        processes: [],
      };
    },

    async deadLetter(name, key) {
      const row = store.fresh ? undefined : await store.findJob(name);
      const letter = row && (await store.deadLetter(row.id, key));
      if (!letter) return undefined;
      const { payload, error, stack, attempts } = letter;
      return { key, payload, error, stack, attempts };
    },

    async search(name, text) {
      const row = store.fresh ? undefined : await store.findJob(name);
      if (!row) return undefined;
      const needle = text.toLowerCase();
      const { letters } = await store.deadLetters(row.id, 1000);
      return letters
        .filter(
          (l) => l.key.toLowerCase().includes(needle) || l.error.toLowerCase().includes(needle),
        )
        .map((l) => ({
          kind: 'dead letter',
          key: l.key,
          ok: false,
          error: l.error,
          at: l.lastFailedAt,
        }));
    },
  };
}

/** An error message with what varies between items (numbers, quoted values) masked. */
export function maskError(message: string): string {
  return (message.split('\n', 1)[0] ?? '')
    .replace(/(["'`]).*?\1/g, '$1…$1')
    .replace(/\b[0-9a-f]{8}-[0-9a-f-]{27}\b/gi, '<uuid>')
    .replace(/\d+(\.\d+)?/g, 'N');
}

function groupFailures(letters: readonly { key: string; error: string }[]): FailureGroup[] {
  const groups = new Map<string, FailureGroup>();
  for (const l of letters) {
    const message = maskError(l.error);
    const group = groups.get(message) ?? { message, count: 0, sampleKeys: [] };
    group.count += 1;
    if (group.sampleKeys.length < 3) group.sampleKeys.push(l.key);
    groups.set(message, group);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}
