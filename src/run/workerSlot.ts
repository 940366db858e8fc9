import type { Sql } from 'postgres';
import type { Job, WorkerContext } from '../job/types.ts';
import type { Pacer } from '../limit/pacing.ts';
import { openPool } from '../store/connect.ts';

/**
 * One local worker. It opens its source connection and runs the job's `setup` before its first
 * task, and keeps both for every task after: one client per worker, not one per item or task.
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
    const sql = this.connect();
    this.sql = sql;
    const [row] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
    this.pid = row?.pid;
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
