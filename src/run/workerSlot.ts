import type { Sql } from 'postgres';
import type { Job, WorkerContext } from '../job/types.ts';
import type { Pacer } from '../limit/pacing.ts';
import { openPool } from '../store/connect.ts';

/**
 * One local worker. It runs the job's `setup` before its first task and keeps its resource and its
 * source connection for every task after: one client per worker, not one per item or task. The
 * connection opens with the worker's first query, so a job that never queries its source (an API
 * enrichment, say) opens none: 8 to 20 handshakes, and as many backends, at each start.
 * The connection is a pool of one (`connect`), not one reserved from a shared pool: a reserved
 * connection that dies takes queries that never settle (porsager/postgres#1154), which would leave
 * a task hung after the database came back; a pool of one fails them, and reconnects.
 */
export class WorkerSlot {
  busy = false;
  /** Backend pid of its connection, to cancel a running query on abort. */
  pid?: number;
  private sql?: Sql;
  private ready?: Promise<{ sql: Sql; resource: unknown }>;

  constructor(
    private readonly connect: () => Sql,
    private readonly job: Job,
    private readonly signal: AbortSignal,
    /** This worker's own spacing between items, if the job paces. */
    readonly pacer?: Pacer,
  ) {}

  /** The worker's connection and resource, opened on first use. */
  open(): Promise<{ sql: Sql; resource: unknown }> {
    this.ready ??= this.start();
    return this.ready;
  }

  private async start() {
    this.sql = this.connect();
    const sql = notingPid(this.sql, (pid) => {
      this.pid = pid;
    });
    const resource = await this.job.setup?.(this.context(sql));
    return { sql, resource };
  }

  private context(sql: Sql): WorkerContext {
    return { sql, signal: this.signal };
  }

  /** Runs `teardown` and gives the connection back; a worker that never started has nothing to close. */
  async close(): Promise<void> {
    if (!this.ready) return;
    try {
      const { sql, resource } = await this.ready;
      await this.job.teardown?.(resource, this.context(sql));
    } catch {
      // A setup that failed has nothing to tear down; its error already failed the task.
    } finally {
      await this.sql?.end({ timeout: 5 });
    }
  }
}

/** A worker's own connection to the source database: a pool of one that never idles out. */
export function workerConnection(url: string, jobName: string): () => Sql {
  return () => openPool(url, { max: 1, purpose: `worker:${jobName}`, idleTimeoutS: 0 });
}

// Methods of a postgres.js pool that send queries on its connection (`subscribe` has its own).
const querying = new Set<PropertyKey>(['unsafe', 'file', 'begin', 'reserve', 'listen', 'notify']);

/**
 * The worker's connection as its code sees it: the first query through it asks for the backend's
 * pid first (a timeout or abort cancels the running query by it), queued just ahead on the same
 * connection and sent with it, so it adds no round trip of its own; until then nothing connects.
 */
function notingPid(sql: Sql, notePid: (pid: number) => void): Sql {
  let asked = false;
  const ask = () => {
    if (asked) return;
    asked = true;
    // A connection that fails fails the query behind this one too, which reports it; the next
    // query asks again.
    sql<{ pid: number }[]>`select pg_backend_pid() as pid`.then(
      ([row]) => {
        if (row) notePid(row.pid);
      },
      () => {
        asked = false;
      },
    );
  };
  return new Proxy(sql, {
    apply(target, self, args: unknown[]) {
      // A tagged template is a query; `sql('name')` and `sql(rows, ...columns)` are fragments.
      if (Array.isArray((args[0] as { raw?: unknown } | undefined)?.raw)) ask();
      return Reflect.apply(target, self, args);
    },
    get(target, key, receiver) {
      if (querying.has(key)) ask();
      return Reflect.get(target, key, receiver);
    },
  });
}
