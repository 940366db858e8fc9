import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { finished } from '../support/cli.ts';

const bin = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));

// sluice's machines run it as root, where the embedded server runs as the `postgres` OS user.
test('as root, a data folder the postgres user cannot reach is one line, and nothing is created', async () => {
  expect(userInfo().uid).toBe(0);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-unreachable-'));
  try {
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const run = await finished(
      spawn(process.execPath, [bin, 'status'], {
        cwd: dir,
        env: { ...process.env, DATABASE_URL: undefined, SLUICE_STATE_URL: undefined },
      }),
    );
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `sluice: The embedded PostgreSQL runs as OS user \`postgres\`, who cannot enter \`${dir}\` (mode 700): allow it (chmod o+x) or set DATABASE_URL\n`,
    );
    expect(await readdir(dir)).toEqual([]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
