import { setTimeout as sleep } from 'node:timers/promises';
import type { Events } from '../observe/events.ts';
import { openPool } from '../store/connect.ts';
import type { Store } from '../store/index.ts';
import { isDatabaseGone } from '../store/reconnect.ts';
import { redactSecrets } from '../store/redact.ts';

/** How long a run waits for its database to come back, by default, before it gives up. */
export const defaultReconnectForMs = 60_000;

const firstRetryMs = 500;
// Asking costs one query a try: the sooner a run sees the server back, the less work it loses.
const slowestRetryMs = 2000;

export interface OutageOptions {
  store: Store;
  /** The source database, which must answer too before the run goes on. */
  sourceUrl: string;
  events: Events;
  /** How long to keep trying after the database went away; 0 gives up at once. Default 60 s. */
  reconnectForMs?: number;
  /** Stops waiting (Ctrl-C): the outage's error is thrown then. */
  stop?: AbortSignal;
}

/**
 * Runs `attempt`, and runs it again each time it fails because the database went away (a server
 * restart, a failover, a network cut) and came back within `reconnectForMs`. The attempt must be
 * safe to repeat: a run resumes the job from the store, and the tasks this process held are
 * reclaimed and redone, as after a crash. Any other error, or an outage that outlasts the
 * window, is thrown as it came.
 */
export async function outlastOutages<T>(attempt: () => Promise<T>, o: OutageOptions): Promise<T> {
  const reconnectForMs = o.reconnectForMs ?? defaultReconnectForMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!isDatabaseGone(error) || reconnectForMs <= 0 || o.stop?.aborted) throw error;
      const lostAt = Date.now();
      o.events.emit('store:lost', {
        reason: redactSecrets((error as Error).message ?? String(error)),
        reconnectForMs,
      });
      if (!(await databaseBack(o, lostAt + reconnectForMs))) throw error;
      // The session that proved this process alive died with the connection: take a new id, so
      // the tasks held under the old one are reclaimed rather than waited for.
      await o.store.checkLiveness();
      o.events.emit('store:back', { afterMs: Date.now() - lostAt });
    }
  }
}

/** Polls both databases with a growing pause until both answer (true), or the deadline or stop comes. */
async function databaseBack(o: OutageOptions, deadline: number): Promise<boolean> {
  for (let wait = firstRetryMs; ; wait = Math.min(wait * 2, slowestRetryMs)) {
    const pause = Math.min(wait, deadline - Date.now());
    if (pause <= 0) return false;
    try {
      await sleep(pause, undefined, { signal: o.stop });
    } catch {
      return false;
    }
    if ((await answers(o.store.sql)) && (await sourceAnswers(o.sourceUrl))) return true;
  }
}

async function answers(sql: Store['sql']): Promise<boolean> {
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  }
}

/** The source pool of the run that failed is closed: a connection of its own asks. */
async function sourceAnswers(url: string): Promise<boolean> {
  const sql = openPool(url, { max: 1, purpose: 'reconnect' });
  try {
    return await answers(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}
