// A PgBouncer of its own for a test, in front of the test run's PostgreSQL: Debian's `pgbouncer`,
// which many production databases sit behind. Installed on first use when missing (as root),
// started with a config in a temporary directory on a free port, stopped and removed at the end.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { waitFor } from './cli.ts';

const binary = '/usr/sbin/pgbouncer';

export type PoolMode = 'session' | 'transaction';

export interface PgBouncer {
  /** The URL of `databaseUrl`'s database through the pooler: same user, password and name. */
  url: string;
  /** Shuts the pooler down at once, clients or not, and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Installs Debian's PgBouncer when it is missing, as globalSetup.ts does Chromium: as root (about
 * 10 s), so the test needs no step of its own; otherwise one line says what to install.
 */
export function installPgBouncer(): void {
  if (existsSync(binary)) return;
  if (process.getuid?.() !== 0)
    throw new Error("The PgBouncer tests need Debian's PgBouncer: apt-get install pgbouncer");
  console.log("Installing Debian's PgBouncer for its tests (apt-get install pgbouncer)");
  execFileSync('apt-get', ['install', '-y', '-q', 'pgbouncer'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/**
 * Starts PgBouncer in `mode` in front of the server of `databaseUrl`, clients trusted (the pooler
 * logs in to the server with the URL's user and password). PgBouncer refuses to run as root: as
 * root it runs as the `postgres` OS user (`-u`), as the embedded server does.
 */
export async function startPgBouncer(databaseUrl: string, mode: PoolMode): Promise<PgBouncer> {
  installPgBouncer();
  const server = new URL(databaseUrl);
  const user = decodeURIComponent(server.username || 'postgres');
  const password = decodeURIComponent(server.password);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-pgbouncer-'));
  // The unprivileged user writes its log here.
  await chmod(dir, 0o777);
  const port = await freePort();
  const target = [`host=${server.hostname}`, `port=${server.port || 5432}`, `user=${user}`];
  if (password) target.push(`password=${password}`);
  await writeFile(join(dir, 'users.txt'), `"${user}" ""\n`);
  await writeFile(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = ${target.join(' ')}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      `pool_mode = ${mode}`,
      'max_client_conn = 200',
      'default_pool_size = 40',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  const asUser = process.getuid?.() === 0 ? ['-u', 'postgres'] : [];
  const child: ChildProcess = spawn(binary, [...asUser, join(dir, 'pgbouncer.ini')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const pooled = new URL(databaseUrl);
  pooled.hostname = '127.0.0.1';
  pooled.port = String(port);
  const url = pooled.toString();
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`pgbouncer exited: ${stderr.trim()}`);
      return answers(url);
    }, 20_000);
  } catch (error) {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    async stop() {
      // SIGTERM: immediate shutdown, without waiting for clients.
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function answers(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 2 });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
