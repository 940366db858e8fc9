import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { startEmbedded } from '../../src/store/embedded.ts';

/**
 * Tests run against a real PostgreSQL: the server in TEST_DATABASE_URL when it is set, otherwise a
 * fresh embedded one that lives for the whole run.
 */
export default async function setup(project: TestProject) {
  // Tests run the CLI as users do, from the built dist/: build it from the source under test,
  // unless it is newer already (a rebuild under another run's tests would hand them half-written
  // files).
  if (await builtIsStale()) execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  installChromium();
  const given = process.env.TEST_DATABASE_URL;
  if (given) {
    project.provide('databaseUrl', given);
    return;
  }
  const root = await mkdtemp(join(tmpdir(), 'sluice-test-pg-'));
  const { chmod } = await import('node:fs/promises');
  await chmod(root, 0o755);
  const server = await startEmbedded(root);
  await skipDurability(server.url);
  project.provide('databaseUrl', server.url);
  return async () => {
    await server.stop();
    await rm(root, { recursive: true, force: true });
  };
}

/**
 * The run's own server lives and dies with the run: waiting for the disk at every commit buys
 * nothing, and the suite commits a great deal. Tests that stop a server mid-run use one of their
 * own (restartableServer.ts), and CI's store tests run on a server with its settings untouched.
 */
async function skipDurability(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (const setting of ['fsync', 'synchronous_commit', 'full_page_writes']) {
      await sql.unsafe(`alter system set ${setting} = off`);
    }
    await sql`select pg_reload_conf()`;
  } finally {
    await sql.end();
  }
}

/**
 * The dashboard's browser test drives Debian's Chromium. A fresh machine lacks it: as root, the
 * run installs it (once, about a minute), so `npm test` stays the one command that tests
 * everything; otherwise it says what to install.
 */
function installChromium(): void {
  if (existsSync('/usr/bin/chromium')) return;
  if (process.getuid?.() !== 0)
    throw new Error(
      "The dashboard's browser test needs Debian's Chromium: apt-get install chromium",
    );
  console.log(
    "Installing Debian's Chromium for the dashboard's browser test (apt-get install chromium)",
  );
  execFileSync('apt-get', ['install', '-y', '-q', 'chromium'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/** True when a file under src/ (or the build settings) is newer than dist/'s entry point. */
async function builtIsStale(): Promise<boolean> {
  const root = new URL('../../', import.meta.url);
  const built = await stat(new URL('dist/index.js', root)).catch(() => undefined);
  if (!built) return true;
  const inputs = ['tsconfig.json', 'tsconfig.build.json', 'scripts/finishBuild.mjs'];
  for (const entry of await readdir(new URL('src/', root), { recursive: true })) {
    inputs.push(`src/${entry}`);
  }
  for (const input of inputs) {
    const { mtimeMs } = await stat(new URL(input, root));
    if (mtimeMs > built.mtimeMs) return true;
  }
  return false;
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}
