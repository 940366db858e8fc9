import type { Sql } from 'postgres';
import { openLockSession, processLockClass } from './liveness.ts';
import { appendTasks } from './taskGraph.ts';

/** Where a job's stream stands: still flowing (`open`), and the position to resume after. */
export async function readFeed(
  sql: Sql,
  jobId: string,
): Promise<{ open: boolean; position: string | undefined }> {
  const [row] = await sql<{ open: boolean; position: string | null }[]>`
    select open, feed_position as position from sluice.jobs where id = ${jobId}`;
  return { open: row?.open ?? false, position: row?.position ?? undefined };
}

/**
 * Appends one batch of a stream as a task, with the stream position after it, in one
 * transaction: once the position is stored, the batch is durable, and a resumed feed starts
 * after it, so nothing is read twice or lost.
 */
export async function appendBatch(
  sql: Sql,
  jobId: string,
  items: readonly unknown[],
  position: string | undefined,
): Promise<number> {
  return sql.begin(async (tx) => {
    const seq = await appendTasks(
      tx,
      jobId,
      [{ stage: null, payload: items, items: items.length }],
      {
        depth: 0,
        parentSeq: null,
        newItems: true,
      },
    );
    if (position !== undefined) {
      await tx`update sluice.jobs set feed_position = ${position} where id = ${jobId}`;
    }
    return seq;
  }) as Promise<number>;
}

/** The stream ended: the job finishes once its tasks do. */
export async function closeFeed(sql: Sql, jobId: string): Promise<void> {
  await sql`update sluice.jobs set open = false, updated_at = now() where id = ${jobId}`;
}

// The feed lock of job N is the advisory lock (processLockClass + 1, N): one reader per stream.
const feedLockClass = processLockClass + 1;

/**
 * Takes the job's feed lock on a connection of its own, so only one process reads the stream.
 * It dies with the process (or its network), so another can take the feed over. Undefined when
 * someone holds it.
 */
export async function tryFeedLock(
  url: string,
  jobId: string,
): Promise<{ release(): Promise<void> } | undefined> {
  const session = await openLockSession(url, 'feed');
  try {
    const [row] = await session<{ locked: boolean }[]>`
      select pg_try_advisory_lock(${feedLockClass}, ${jobId}::int) as locked`;
    if (!row?.locked) {
      await session.end({ timeout: 1 });
      return undefined;
    }
  } catch (error) {
    await session.end({ timeout: 1 });
    throw error;
  }
  return {
    release: async () => {
      await session`select pg_advisory_unlock(${feedLockClass}, ${jobId}::int)`.catch(() => {});
      await session.end({ timeout: 1 });
    },
  };
}
