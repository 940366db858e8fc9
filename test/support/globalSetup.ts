import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbedded } from '../../src/store/embedded.ts';

/**
 * Tests run against a real PostgreSQL: the server in TEST_DATABASE_URL when it is set, otherwise a
 * fresh embedded one that lives for the whole run.
 */
export default async function setup(project: TestProject) {
  // Tests run the CLI as users do, from the built dist/: build it from the source under test.
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  const given = process.env.TEST_DATABASE_URL;
  if (given) {
    project.provide('databaseUrl', given);
    return;
  }
  const root = await mkdtemp(join(tmpdir(), 'sluice-test-pg-'));
  const { chmod } = await import('node:fs/promises');
  await chmod(root, 0o755);
  const server = await startEmbedded(root);
  project.provide('databaseUrl', server.url);
  return async () => {
    await server.stop();
    await rm(root, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}
