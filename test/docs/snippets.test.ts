// Every TypeScript snippet in README.md and docs/*.md compiles against sluice's own source, so the
// docs cannot drift from the API. Each ```ts block becomes a module of its own in a temp folder,
// `sluice` maps to src/index.ts, and the repository's compiler checks them all in one run.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { codeBlocks, readDocs, root } from './markdown.ts';

const run = promisify(execFile);
const typescript = new Set(['ts', 'typescript', 'mts', 'cts']);

interface Snippet {
  /** The module's file name in the temp folder. */
  file: string;
  /** Where it came from, as a reader finds it: `docs/api.md snippet 2 (line 40)`. */
  origin: string;
  /** The markdown line of the snippet's first line. */
  line: number;
  doc: string;
  code: string;
}

// A snippet that must fail: proves the compiler ran over the folder and that errors are mapped.
const canary: Snippet = {
  file: 'canary.ts',
  origin: 'canary',
  line: 1,
  doc: 'canary',
  code: "import { defineJob } from 'sluice';\nexport const job: number = defineJob;\n",
};

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-doc-snippets-'));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

async function docSnippets(): Promise<Snippet[]> {
  const snippets: Snippet[] = [];
  for (const doc of await readDocs()) {
    const blocks = codeBlocks(doc.text).filter((block) => typescript.has(block.lang));
    blocks.forEach((block, i) => {
      snippets.push({
        file: `${doc.path.replace(/[^A-Za-z0-9]+/g, '-')}-${i + 1}.ts`,
        origin: `${doc.path} snippet ${i + 1} (line ${block.line})`,
        line: block.line,
        doc: doc.path,
        code: block.code,
      });
    });
  }
  return snippets;
}

/** A snippet without imports or exports is a script; made a module, its names stay its own. */
const asModule = (code: string) =>
  /^\s*(import|export)\s/m.test(code) ? `${code}\n` : `${code}\nexport {};\n`;

/** Writes the snippets as modules of an ESM package and compiles them with the repository's tsc. */
async function compile(snippets: Snippet[]): Promise<string[]> {
  await writeFile(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  // Packages the snippets import (postgres, @types/node) resolve from the repository's install.
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  await writeFile(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      compilerOptions: { noEmit: true, paths: { sluice: [join(root, 'src/index.ts')] } },
      include: ['*.ts'],
    }),
  );
  for (const snippet of snippets) await writeFile(join(dir, snippet.file), asModule(snippet.code));
  const tsc = join(root, 'node_modules/.bin/tsc');
  const output = await run(tsc, ['--noEmit', '--pretty', 'false', '-p', dir], {
    cwd: dir,
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    ({ stdout }) => stdout,
    (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
  );
  return messages(output, snippets);
}

/** The compiler's errors, one per entry, each naming the doc, the snippet and its markdown line. */
function messages(output: string, snippets: Snippet[]): string[] {
  const byFile = new Map(snippets.map((s) => [s.file, s]));
  const found: string[] = [];
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue;
    const at = /^(.*?)\((\d+),(\d+)\): (error TS\d+: .*)$/.exec(line);
    if (!at) {
      // A message's continuation lines belong to the error above them.
      if (found.length > 0 && /^\s/.test(line)) found[found.length - 1] += `\n${line}`;
      else found.push(line);
      continue;
    }
    const [, file = '', row = '0', column = '0', message = ''] = at;
    const snippet = byFile.get(file.split(/[\\/]/).pop() ?? '');
    found.push(
      snippet
        ? `${snippet.origin}, ${snippet.doc}:${snippet.line + Number(row) - 1}:${column}: ${message}`
        : `${file}:${row}:${column}: ${message}`,
    );
  }
  return found;
}

test('every TypeScript snippet in README.md and docs/*.md type-checks against src/', async () => {
  const snippets = await docSnippets();
  // README's first job, and snippets on the pages that show code.
  expect(snippets.filter((s) => s.doc === 'README.md').length).toBeGreaterThanOrEqual(1);
  expect(new Set(snippets.map((s) => s.doc)).size).toBeGreaterThanOrEqual(6);

  const errors = await compile([...snippets, canary]);

  const real = errors.filter((e) => !e.startsWith('canary, '));
  expect(real, `\n${real.join('\n')}\n`).toEqual([]);
  // The canary is reported, by name: the compiler saw the folder and its messages are mapped.
  expect(errors.filter((e) => e.startsWith('canary, canary:2:'))).toHaveLength(1);
}, 180_000);
