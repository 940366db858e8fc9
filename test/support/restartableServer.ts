// An embedded PostgreSQL of its own in a temporary directory, for a test or bench that stops and
// starts the server under running processes: the shared server of the test run must stay up.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedServer, startEmbedded } from '../../src/store/embedded.ts';

/** When the stop began (pg_ctl stop -m fast), when it had stopped, and when it was back. */
export interface Restart {
  stoppingAt: number;
  stoppedAt: number;
  startedAt: number;
}

export interface RestartableServer {
  url: string;
  /** Stops the server (sessions end with admin_shutdown), waits `downMs`, starts it again. */
  restart(downMs: number): Promise<Restart>;
  close(): Promise<void>;
}

export async function startRestartableServer(): Promise<RestartableServer> {
  const root = await mkdtemp(join(tmpdir(), 'sluice-own-pg-'));
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
