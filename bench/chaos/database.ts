// The chaos suite's PostgreSQL: the project's embedded server in a temporary directory, which
// the suite can stop and start again on the same data directory and port, and its tables.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres, { type Sql } from 'postgres';
import { startEmbedded } from 'sluice';

type EmbeddedServer = Awaited<ReturnType<typeof startEmbedded>>;

/** When the stop began (pg_ctl stop -m fast), when it had stopped, and when it was back. */
export interface Restart {
  stoppingAt: number;
  stoppedAt: number;
  startedAt: number;
}

export interface ChaosServer {
  url: string;
  /** Stops the server (sessions end with admin_shutdown), waits `downMs`, starts it again. */
  restart(downMs: number): Promise<Restart>;
  close(): Promise<void>;
}

export async function startChaosServer(): Promise<ChaosServer> {
  const root = await mkdtemp(join(tmpdir(), 'sluice-chaos-pg-'));
  // As root the server runs as the `postgres` OS user, which must be able to enter the directory.
  await chmod(root, 0o755);
  let server: EmbeddedServer = await startEmbedded(root);
  return {
    url: server.url,
    async restart(downMs) {
      const stoppingAt = Date.now();
      await server.stop();
      const stoppedAt = Date.now();
      await new Promise((done) => setTimeout(done, downMs));
      // Same root: the same data directory, port and password (embedded.json).
      server = await startEmbedded(root);
      return { stoppingAt, stoppedAt, startedAt: Date.now() };
    },
    async close() {
      await server.stop().catch(() => {});
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * `rows` source rows with `poison` of them planted at random, an empty target whose trigger
 * counts applications, and the attempt log the job writes. Returns the poison ids.
 */
export async function seedTables(sql: Sql, rows: number, poison: number): Promise<number[]> {
  await sql`create table chaos_source (id int primary key, v int not null, note text)`;
  await sql`insert into chaos_source select g, (g::bigint * 7919) % 100003, null
    from generate_series(1, ${rows}::int) g`;
  const planted = await sql<{ id: number }[]>`
    update chaos_source set note = 'poison'
    where id in (select id from chaos_source order by random() limit ${poison})
    returning id`;
  await sql`vacuum analyze chaos_source`;
  await sql`create table chaos_target (id int primary key, v bigint not null,
    applications int not null default 1)`;
  // Every `on conflict do update` of a row is one more application of it.
  await sql`create function chaos_count_application() returns trigger language plpgsql as $$
    begin new.applications := old.applications + 1; return new; end $$`;
  await sql`create trigger chaos_applications before update on chaos_target
    for each row execute function chaos_count_application()`;
  await sql`create table chaos_attempts (id bigserial primary key, seq int not null,
    attempt int not null, pid int not null, first_id int, last_id int, rows int not null,
    started_at timestamptz not null default clock_timestamp(), ended_at timestamptz)`;
  return planted.map((r) => r.id).sort((a, b) => a - b);
}

export function connect(url: string): Sql {
  return postgres(url, { max: 2, onnotice: () => {}, connect_timeout: 5 });
}
