import { hostname } from 'node:os';
import type { Sql } from 'postgres';
import { openPool } from './connect.ts';

// Advisory locks taken by sluice processes live under this first key; the second is the process id.
export const processLockClass = 0x51_1c_e0;

/** How long a claim stays valid without renewal: the fallback when no advisory lock can be seen. */
export const leaseSeconds = 60;

/**
 * A process's proof of life: a session advisory lock held on a connection of its own. When the
 * process dies, PostgreSQL ends the session and drops the lock at once, so other processes can
 * tell within a second that its tasks are orphaned, instead of waiting out a lease.
 */
export interface Liveness {
  readonly processId: number;
  /**
   * True while the session still holds the lock. After a partition longer than the server's
   * keepalive, the server has ended the session: the lock is gone, and so is the claim on every
   * task this process held, so it must take a new identity before it claims again.
   */
  holdsLock(): Promise<boolean>;
  /**
   * LISTENs on `channel` on the lock's own session, so a process hears job changes without a
   * connection more (postgres.js's `sql.listen` opens one of its own). Listeners move to the
   * session of a rejoin (`registerProcess(url, previous)`); what is notified in between is lost,
   * which the callers' polls cover.
   */
  listen(
    channel: string,
    onNotice: (payload: string) => void,
  ): Promise<{ unlisten(): Promise<void> }>;
  release(): Promise<void>;
  /** Who listens, handed on to the next session by a rejoin. */
  readonly notices: Notices;
}

/**
 * The channels a process's lock session LISTENs on, and who hears each. It outlives one lock
 * session: a rejoin attaches it to the new one, which LISTENs on every channel again.
 */
export class Notices {
  private readonly listeners = new Map<string, Set<(payload: string) => void>>();
  private session?: Sql;

  deliver = (channel: string, payload: string) => {
    for (const listener of this.listeners.get(channel) ?? []) listener(payload);
  };

  async attach(session: Sql): Promise<void> {
    this.session = session;
    for (const channel of this.listeners.keys()) await session`listen ${session(channel)}`;
  }

  async listen(channel: string, onNotice: (payload: string) => void) {
    const listeners = this.listeners.get(channel) ?? new Set();
    this.listeners.set(channel, listeners);
    listeners.add(onNotice);
    const session = this.session;
    if (listeners.size === 1 && session) await session`listen ${session(channel)}`;
    return {
      unlisten: async () => {
        listeners.delete(onNotice);
        const current = this.session;
        if (listeners.size > 0 || !current) return;
        this.listeners.delete(channel);
        // An ended session has stopped listening already.
        await current`unlisten ${current(channel)}`.catch(() => {});
      },
    };
  }
}

/**
 * Server-side TCP keepalives for the lock's session alone. A worker cut off by a network
 * partition sends no FIN: without these, PostgreSQL keeps its session, and the lock that says it
 * is alive, for the kernel's default two hours. With them the server drops the session about
 * 3 + 2 × 1 = 5 s after the last packet (test/cluster/partition.test.ts measures 5.5 s to the
 * task's restart elsewhere). Set with SET rather than as startup parameters, which poolers such
 * as PgBouncer refuse; the other connections keep the server's own settings.
 */
const deadPeerDetection = {
  tcp_keepalives_idle: '3',
  tcp_keepalives_interval: '1',
  tcp_keepalives_count: '2',
  // Unacknowledged data gives up after as long.
  tcp_user_timeout: '5000',
} as const;

/**
 * A connection of its own for a session advisory lock, with dead-peer detection set: the lock
 * ends with the process, or within ~5 s of a network partition. It is a pool of one rather than a
 * connection reserved from the shared pool: a reserved connection that dies keeps taking queries
 * that never settle (porsager/postgres#1154), while a pool of one reconnects, and a query on the
 * new session simply finds the lock gone. It never closes for idleness, which would drop the lock.
 */
export async function openLockSession(
  url: string,
  purpose: string,
  onNotify?: (channel: string, payload: string) => void,
): Promise<Sql> {
  const session = openPool(url, { max: 1, purpose, idleTimeoutS: 0, onNotify });
  try {
    await session`
      select set_config(name, value, false)
      from unnest(${Object.keys(deadPeerDetection)}::text[], ${Object.values(deadPeerDetection)}::text[])
        as s(name, value)`;
    return session;
  } catch (error) {
    await session.end({ timeout: 1 });
    throw error;
  }
}

/** Whether this session holds the advisory lock (classid, objid) it took with two keys. */
export async function sessionHolds(session: Sql, classId: number, objId: number): Promise<boolean> {
  const [held] = await session<{ held: boolean }[]>`
    select exists (select 1 from pg_locks where locktype = 'advisory' and granted
      and pid = pg_backend_pid() and classid = ${classId}::int::oid
      and objid = ${objId}::int::oid and objsubid = 2) as held`;
  return held?.held === true;
}

/**
 * Where a sluice process's own advisory lock is held, as a condition on `pg_locks l` for the
 * process id `owner` (an SQL expression): a process is alive exactly while this holds.
 */
export function lockOf(sql: Sql, owner: ReturnType<Sql>) {
  return sql`l.locktype = 'advisory' and l.granted and l.objsubid = 2
    and l.database = (select oid from pg_database where datname = current_database())
    and l.classid = ${processLockClass}::int::oid and l.objid = (${owner})::oid`;
}

/**
 * Takes a process id, holds its lock, and records the process in sluice.processes, in one
 * statement: a reader that sees the row sees the lock. Ids cycle, so the row of a long-gone
 * process with the same id is replaced. Rows of processes whose lock is gone (they died without
 * leaving) are deleted on the way. A rejoin passes the liveness it lost as `previous`: whoever
 * listened on its session listens on the new one.
 */
export async function registerProcess(url: string, previous?: Liveness): Promise<Liveness> {
  const notices = previous?.notices ?? new Notices();
  const session = await openLockSession(url, 'liveness', notices.deliver);
  try {
    const [row] = await session<{ id: number }[]>`
      with taken as (
        select id from (select nextval('sluice.process_ids')::int as id) n
        where pg_try_advisory_lock(${processLockClass}, id)
      ), joined as (
        insert into sluice.processes (id, host, pid)
        select id, ${hostname()}, ${process.pid} from taken
        on conflict (id) do update set host = excluded.host, pid = excluded.pid,
          started_at = now(), last_seen_at = now(), waiting_job = null, waiting_since = null
      ), gone as (
        delete from sluice.processes p where p.id <> (select id from taken)
          and not exists (select 1 from pg_locks l where ${lockOf(session, session`p.id`)})
      )
      select id from taken`;
    if (!row) throw new Error('sluice process id already in use; try again');
    await notices.attach(session);
    return {
      processId: row.id,
      notices,
      listen: (channel, onNotice) => notices.listen(channel, onNotice),
      // A session that reconnected after its connection died holds no lock either.
      holdsLock: () => sessionHolds(session, processLockClass, row.id),
      release: async () => {
        await session`
          with gone as (delete from sluice.processes where id = ${row.id} and pid = ${process.pid})
          select pg_advisory_unlock(${processLockClass}, ${row.id})`.catch(() => {});
        await session.end({ timeout: 1 });
      },
    };
  } catch (error) {
    await session.end({ timeout: 1 });
    throw error;
  }
}

/**
 * Pushes out the lease of every task this process holds, and says it is still here (the
 * dashboard's "last seen"), in one round trip: this runs every 10 s, and an idle process must
 * stay cheap.
 */
export async function renewLeases(sql: Sql, processId: number, jobId: string): Promise<void> {
  await sql`
    with seen as (
      update sluice.processes set last_seen_at = now() where id = ${processId}
    )
    update sluice.tasks set lease_until = now() + make_interval(secs => ${leaseSeconds})
    where job_id = ${jobId} and status = 'running' and owner = ${processId}`;
}

/**
 * Returns orphaned tasks of a job to the queue: their owner's advisory lock is gone (the process
 * died), or their lease ran out. A task that has used up its attempts fails instead. A task that
 * was still waiting for a worker never ran: it goes back with its attempt unspent.
 * Returns how many were reclaimed.
 */
export async function reclaimOrphans(sql: Sql, jobId: string): Promise<number> {
  const rows = await sql`
    update sluice.tasks t set
      status = case when not t.waiting and t.attempts >= j.max_attempts then 'failed' else 'pending' end,
      attempts = case when t.waiting then greatest(t.attempts - 1, 0) else t.attempts end,
      error = case when t.waiting then t.error else 'the worker running this task died' end,
      finished_at = case when not t.waiting and t.attempts >= j.max_attempts then now() end,
      waiting = false, owner = null, lease_until = null, run_after = now()
    from sluice.jobs j
    where j.id = t.job_id and t.job_id = ${jobId} and t.status = 'running'
      and (t.lease_until < now() or not exists (
        select 1 from pg_locks l where ${lockOf(sql, sql`t.owner`)}))
    returning t.seq`;
  return rows.length;
}
