import type { Sql } from 'postgres';
import { epochNow, type Reserve } from '../limit/reserve.ts';

// Clock choice: slot times live on the DATABASE clock (clock_timestamp()), the one clock every
// process of a job can read, so skew between hosts does not matter. Each process converts them to
// its own clock with an NTP-style offset: the server's time against the midpoint of the round trip,
// from the quickest of the recent samples. The residual error is at most half that round trip, and
// createGlobalRateLimiter's margin absorbs it together with timer lateness.
const samplesKept = 16;
const warmupSamples = 5;
// A schedule that fell behind (no demand for a while, or every process late) restarts at the
// server's now; the answer then arrived with its first slots already overdue and the limiter
// dropped them. Under two CPU hogs, round trips of 10-30 ms dropped ~18 % of the slots at 400/s and
// ~35 % at 40/s (two processes). Starting the block a round trip ahead costs nothing while demand
// lasts (the schedule is ahead anyway) and delays a restart by that much.
const minLeadMs = 2;
const maxLeadMs = 50;

/** The database clock in epoch milliseconds, as the one-row source `c(now_ms)`. */
const dbNowMs = (sql: Sql) =>
  sql`(select extract(epoch from clock_timestamp())::float8 * 1000 as now_ms) c`;

interface Sample {
  rttMs: number;
  offsetMs: number;
}

/** The database clock minus this process's clock, from the quickest recent round trip. */
export class ClockOffset {
  #samples: Sample[] = [];

  record(sentMs: number, serverMs: number, receivedMs: number): void {
    this.#samples.push({
      rttMs: receivedMs - sentMs,
      offsetMs: serverMs - (sentMs + receivedMs) / 2,
    });
    if (this.#samples.length > samplesKept) this.#samples.shift();
  }

  /**
   * A server instant on this process's clock. Before any round trip it counts from now what was
   * left at `serverNowMs`, which ends a pause a little late (by the notice's delivery), never early.
   */
  toLocal(serverMs: number, serverNowMs: number, localNowMs: number): number {
    return this.#samples.length > 0 ? serverMs - this.ms : localNowMs + (serverMs - serverNowMs);
  }

  /**
   * How far ahead of the server's now a reservation should start so that its first slot is not
   * overdue when the answer arrives: the slowest recent round trip, within 2 to 50 ms.
   */
  get leadMs(): number {
    let slowest = 0;
    for (const sample of this.#samples) slowest = Math.max(slowest, sample.rttMs);
    return Math.min(maxLeadMs, Math.max(minLeadMs, slowest));
  }

  get ms(): number {
    let best = this.#samples[0] as Sample;
    for (const sample of this.#samples) if (sample.rttMs < best.rttMs) best = sample;
    return best.offsetMs;
  }
}

/**
 * Reserves slots of the job's shared schedule `limitName` in one statement per block: the row's
 * theoretical arrival time moves forward by `units / ratePerMs`, starting no earlier than the
 * server's now. The row is created on first use. Returns slot times on this process's clock.
 */
export function storeReserve(
  sql: Sql,
  jobId: string,
  limitName: string,
  ratePerMs: number,
  now: () => number = epochNow,
  /** Shared with `listenPauses`, which turns the server's pause times into this process's. */
  offset: ClockOffset = new ClockOffset(),
): Reserve {
  const intervalMs = 1 / ratePerMs;
  let warmedUp: Promise<void> | undefined;
  // The first queries of a pool open its connection; a few cheap ones first keep that slow round
  // trip out of the offset.
  const warmUp = async () => {
    for (let i = 0; i < warmupSamples; i++) {
      const sent = now();
      const [row] = await sql<{ nowMs: number }[]>`select now_ms as "nowMs" from ${dbNowMs(sql)}`;
      offset.record(sent, (row as { nowMs: number }).nowMs, now());
    }
  };
  return async (units) => {
    // A failed warm-up is forgotten, so the next reservation tries again rather than failing forever.
    warmedUp ??= warmUp().catch((error: unknown) => {
      warmedUp = undefined;
      throw error;
    });
    await warmedUp;
    const spanMs = units * intervalMs;
    const endMs = offset.leadMs + spanMs;
    const sent = now();
    // Contention on the row only queues reservations: each starts where the previous one ended,
    // so blocks never overlap. A start computed before a lock wait may lie slightly in the past;
    // the limiter then releases those slots late or drops them, never early.
    const [row] = await sql<{ startMs: number; serverMs: number }[]>`
      insert into sluice.rate_limits as r (job_id, name, tat_ms, updated_ms)
      select ${jobId}::bigint, ${limitName}::text, c.now_ms + ${endMs}::float8, c.now_ms
      from ${dbNowMs(sql)}
      on conflict (job_id, name) do update
        set tat_ms = greatest(r.tat_ms + ${spanMs}::float8, excluded.tat_ms),
            updated_ms = excluded.updated_ms
      returning r.tat_ms - ${spanMs}::float8 as "startMs", r.updated_ms as "serverMs"`;
    const { startMs, serverMs } = row as { startMs: number; serverMs: number };
    offset.record(sent, serverMs, now());
    return { startMs: startMs - offset.ms, intervalMs };
  };
}

/**
 * Pushes the job's shared schedule `limitName` to `untilMs` (this process's clock), so a 429 that
 * one process sees pauses all of them. It sends the remaining duration, not the instant, so no
 * clock offset is needed. The same statement records when the pause was written and notifies
 * `limitsChannel`: every process listening holds its releases the moment the pause commits, and
 * one that is not listening still meets the pushed schedule at its next reservation.
 */
export function storePause(
  sql: Sql,
  jobId: string,
  limitName: string,
  now: () => number = epochNow,
): (untilMs: number) => Promise<void> {
  return async (untilMs) => {
    const delayMs = Math.max(0, untilMs - now());
    await sql`
      with paused as (
        insert into sluice.rate_limits as r
          (job_id, name, tat_ms, updated_ms, paused_at_ms, paused_until_ms)
        select ${jobId}::bigint, ${limitName}::text, c.now_ms + ${delayMs}::float8, c.now_ms,
          c.now_ms, c.now_ms + ${delayMs}::float8
        from ${dbNowMs(sql)}
        on conflict (job_id, name) do update
          set tat_ms = greatest(r.tat_ms, excluded.tat_ms), updated_ms = excluded.updated_ms,
            paused_at_ms = excluded.paused_at_ms,
            paused_until_ms = greatest(r.paused_until_ms, excluded.paused_until_ms)
        returning job_id, name, paused_at_ms, paused_until_ms
      )
      select pg_notify(${limitsChannel}, json_build_object('job', job_id::text, 'name', name,
        'atMs', paused_at_ms, 'untilMs', paused_until_ms)::text)
      from paused`;
  };
}

/** Pauses of shared rate schedules are announced here, as `{ job, name, atMs, untilMs }` JSON. */
export const limitsChannel = 'sluice_limits';

/**
 * Calls `hold(untilMs)`, on this process's clock, for every pause of the schedule `limitName`
 * that any process writes. postgres.js listens on one connection of its own per pool (the one that
 * job control already holds), and listens again after a reconnect. Returns a function that stops.
 */
export async function listenPauses(
  sql: Sql,
  jobId: string,
  limitName: string,
  toLocal: (serverMs: number, serverNowMs: number) => number,
  hold: (untilMs: number) => void,
): Promise<() => Promise<void>> {
  const { unlisten } = await sql.listen(limitsChannel, (payload) => {
    let notice: { job?: unknown; name?: unknown; atMs?: unknown; untilMs?: unknown };
    try {
      notice = JSON.parse(payload);
    } catch {
      return; // Not ours: anyone may notify on a channel.
    }
    const { job, name, atMs, untilMs } = notice;
    if (job !== jobId || name !== limitName) return;
    if (typeof atMs !== 'number' || typeof untilMs !== 'number') return;
    hold(toLocal(untilMs, atMs));
  });
  return unlisten;
}
