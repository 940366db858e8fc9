// After `tsc -p tsconfig.build.json`: copy what tsc does not emit (migrations, worker boot files),
// point the declaration files' relative imports at `.js`, which is what ships, and remove what a
// deleted source left behind. dist/ is updated in place, never emptied, so a test that runs the
// CLI while another build runs does not find it missing.
import { existsSync } from 'node:fs';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const src = new URL('../src/', import.meta.url).pathname;
const dist = new URL('../dist/', import.meta.url).pathname;

await cp(join(src, 'store/migrations'), join(dist, 'store/migrations'), { recursive: true });
for (const file of ['boot.mjs', 'bundleBoot.mjs']) {
  await cp(join(src, 'run/executors', file), join(dist, 'run/executors', file));
}
// The dashboard's stylesheet and script ship as they are written: nothing to build.
const dashboardAssets = 'dashboard/assets';
await cp(join(src, dashboardAssets), join(dist, dashboardAssets), { recursive: true });

// tsc rewrites `.ts` specifiers in JavaScript but leaves them in declarations, where a consumer's
// compiler without allowImportingTsExtensions would reject them.
const relativeTs = /((?:from|import)\s*\(?\s*['"]\.{1,2}\/[^'"]*?)\.ts(['"])/g;
for (const entry of await readdir(dist, { recursive: true })) {
  if (!entry.endsWith('.d.ts')) continue;
  const path = join(dist, entry);
  const text = await readFile(path, 'utf8');
  const rewritten = text.replace(relativeTs, '$1.js$2');
  if (rewritten !== text) await writeFile(path, rewritten);
}

const emitted = /(\.d\.ts\.map|\.d\.ts|\.js\.map|\.js)$/;
for (const entry of await readdir(dist, { recursive: true })) {
  if (!emitted.test(entry) || entry.startsWith(dashboardAssets)) continue;
  const stem = entry.replace(emitted, '');
  if (!existsSync(join(src, `${stem}.ts`))) await rm(join(dist, entry));
}

// Copied files whose source was deleted (a migration folded into another, an asset renamed).
for (const copied of ['store/migrations', dashboardAssets]) {
  for (const entry of await readdir(join(dist, copied))) {
    if (!existsSync(join(src, copied, entry))) await rm(join(dist, copied, entry));
  }
}
