import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';

// Broken job modules, in a folder of their own outside any package: `.ts` and `.js` files there
// are CommonJS, `.mts` and `.mjs` ES modules. None gets as far as importing sluice.
const modules: Record<string, string> = {
  'syntax.ts': 'const total: number = ;\nexport default total;\n',
  'syntax.mts': 'export const x = 1;\nexport default {\n  name: "x",,\n};\n',
  'syntax.mjs': 'const x = ;\nexport default x;\n',
  'syntax.cjs': 'module.exports = {\n  name: (;\n};\n',
  'missingPackage.mts': "import x from 'no-such-package-here';\nexport default x;\n",
  'missingFile.ts': "import { helper } from './helpers/absent.ts';\nexport default helper;\n",
  'nested.ts': "import { broken } from './brokenHelper.ts';\nexport default broken;\n",
  'brokenHelper.ts': 'export const broken = {\n  a: 1\n  b: 2,\n};\n',
  'throws.mts': 'const settings: any = undefined;\nexport default settings.name.trim();\n',
};

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-broken-'));
  for (const [name, text] of Object.entries(modules)) await writeFile(join(dir, name), text);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs the job module; it must fail with exit 2, nothing on stdout, and no loader frames. */
async function broken(name: string): Promise<string[]> {
  const run = await runSluice([
    'run',
    join(dir, name),
    '--database-url',
    'postgres://127.0.0.1:1/x',
  ]);
  expect(run.code, run.stderr).toBe(2);
  expect(run.stdout).toBe('');
  expect(run.stderr).not.toMatch(/esbuild|tsx|node:internal|node_modules|Transform failed/);
  return run.stderr.trimEnd().split('\n');
}

describe('a broken job module is one `file:line:col: message` line, exit 2', () => {
  const cases: [string, string][] = [
    ['syntax.ts', 'syntax.ts:1:23: Unexpected ";"'],
    ['syntax.mts', 'syntax.mts:3:13: Expected identifier but found ","'],
    ['syntax.mjs', 'syntax.mjs:1:11: Unexpected ";"'],
    ['syntax.cjs', 'syntax.cjs:2:10: Unexpected ";"'],
    ['missingPackage.mts', "missingPackage.mts:1:15: Cannot find package 'no-such-package-here'"],
    ['missingFile.ts', "missingFile.ts:1:24: Cannot find module './helpers/absent.ts'"],
    ['nested.ts', 'brokenHelper.ts:3:3: Expected "}" but found "b"'],
  ];
  for (const [name, line] of cases) {
    test(name, async () => {
      expect(await broken(name)).toEqual([join(dir, line)]);
    });
  }

  test('code that throws at import: its place, then only the module’s own frames', async () => {
    const [first, ...frames] = await broken('throws.mts');
    expect(first).toBe(
      `${join(dir, 'throws.mts')}:2:25: Cannot read properties of undefined (reading 'name')`,
    );
    for (const frame of frames) expect(frame).toMatch(/^\s+at .*throws\.mts:\d+:\d+\)?$/);
  });
});
