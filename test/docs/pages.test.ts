// The docs a newcomer reads hold together: every link lands, the API page names every export, the
// README stays a front page, and the pages speak of sluice's own scenarios.
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import { expect, test } from 'vitest';
import { anchors, prose, readDocs, root } from './markdown.ts';

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

test('every relative link and anchor in README.md and docs/*.md lands', async () => {
  const docs = await readDocs();
  const anchorsOf = new Map(docs.map((doc) => [normalize(doc.path), anchors(doc.text)]));
  const links: { where: string; file: string; anchor: string | undefined }[] = [];
  for (const doc of docs) {
    prose(doc.text)
      .split('\n')
      .forEach((line, i) => {
        for (const [, target = ''] of line.matchAll(/\]\(([^)\s]+)\)/g)) {
          if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
          const [path = '', anchor] = target.split('#');
          const file = path === '' ? doc.path : normalize(join(dirname(doc.path), path));
          links.push({ where: `${doc.path}:${i + 1}: ${target}`, file, anchor });
        }
      });
  }
  const broken: string[] = [];
  for (const link of links) {
    if (!(await exists(join(root, link.file)))) broken.push(`${link.where} (no such file)`);
    else if (link.anchor !== undefined && !anchorsOf.get(link.file)?.has(link.anchor))
      broken.push(`${link.where} (no such heading)`);
  }
  expect(links.length).toBeGreaterThan(20);
  expect(broken).toEqual([]);
});

test('docs/api.md names every export of the package', async () => {
  const index = await readFile(join(root, 'src/index.ts'), 'utf8');
  const names = [...index.matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap(([, list = '']) =>
    list
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
  );
  expect(names).toContain('defineJob');
  const api = await readFile(join(root, 'docs/api.md'), 'utf8');
  expect(names.filter((name) => !api.includes(`\`${name}\``))).toEqual([]);
});

test('README.md is a front page of at most 250 lines, linking every page under docs/', async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  expect(readme.trimEnd().split('\n').length).toBeLessThanOrEqual(250);
  const pages = (await readdir(join(root, 'docs'))).filter((name) => name.endsWith('.md'));
  expect(pages.filter((page) => !readme.includes(`](docs/${page})`))).toEqual([]);
  // The two commands people and CI rely on, word for word.
  expect(readme).toContain('npm ci && npx sluice run examples/orders-report.ts\nnpm test\n');
});

test('the docs and the examples speak of their own scenarios, not of design documents', async () => {
  const pages = (await readDocs()).map((doc) => ({ path: doc.path, text: doc.text }));
  const examples = (await readdir(join(root, 'examples'))).filter((name) => name.endsWith('.ts'));
  for (const name of examples) {
    const text = await readFile(join(root, 'examples', name), 'utf8');
    // The header comment: the lines before the first import.
    const header = text.slice(0, text.search(/^import /m));
    pages.push({ path: `examples/${name}`, text: header });
  }
  const mentions = pages.flatMap(({ path, text }) =>
    text
      .split('\n')
      .map((line, i) => ({ where: `${path}:${i + 1}: ${line.trim()}`, line }))
      .filter(({ line }) => /\bseed/i.test(line) && !/\bseeding\b/i.test(line))
      .map(({ where }) => where),
  );
  expect(mentions).toEqual([]);
});
