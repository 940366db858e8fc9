import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded } from 'sluice';

/** BENCH_DATABASE_URL, or a fresh embedded server that `close` stops and deletes. */
export async function openBenchServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const given = process.env.BENCH_DATABASE_URL;
  if (given) return { url: given, close: async () => {} };
  const root = await mkdtemp(join(tmpdir(), 'sluice-bench-pg-'));
  const remove = () => rm(root, { recursive: true, force: true });
  // As root the server runs as the `postgres` OS user, which must be able to enter the directory.
  await chmod(root, 0o755);
  const server = await startEmbedded(root).catch(async (error) => {
    await remove();
    throw error;
  });
  return { url: server.url, close: () => server.stop().finally(remove) };
}
