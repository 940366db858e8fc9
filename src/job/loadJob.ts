import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import Module, { createRequire } from 'node:module';
import { extname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeValue, InputError, SluiceError } from '../errors.ts';
import { isJob } from './defineJob.ts';
import { importFailure } from './importFailure.ts';
import type { Job } from './types.ts';

type Importer = () => Promise<{ default?: unknown }>;
/** Job modules built into a worker's bundle, imported from there rather than from their files. */
const preloaded = new Map<string, Importer>();

/** A worker's bundle hands loadJob the job module it carries (see executors/workerBundle.ts). */
export function preloadJob(path: string, importer: Importer): void {
  preloaded.set(resolve(path), importer);
}

/** Imports a job module by path (TypeScript included) and returns its default-exported job. */
export async function loadJob(path: string): Promise<Job> {
  const file = resolve(path);
  if (!(await isFile(file))) throw new InputError(`Cannot find job module \`${path}\``);
  let module: { default?: unknown };
  try {
    const bundled = preloaded.get(file);
    if (!bundled) await compileTypeScriptOnImport();
    module = await (bundled ? bundled() : import(pathToFileURL(file).href));
  } catch (error) {
    // defineJob's own refusals are already one line that names the option.
    if (error instanceof SluiceError) throw error;
    throw await importFailure(path, error);
  }
  const job = defaultExport(module);
  if (!isJob(job)) {
    throw new InputError(
      `Expected \`${path}\` to default-export defineJob({...}), got ${describeValue(job)}`,
    );
  }
  // Thread and process workers import the job again, by this path, and check the digest.
  return { ...job, modulePath: file, moduleDigest: await digestOf(file) };
}

/**
 * A CommonJS module (a `.cts` or `.cjs` job, or a `.ts` one in a project without `"type"`) comes
 * to `import()` as `{ default: module.exports }`, and its own `export default` is one level down.
 */
function defaultExport(module: { default?: unknown }): unknown {
  const exported = module.default;
  if (isJob(exported)) return exported;
  const nested = (exported as { default?: unknown } | null | undefined)?.default;
  return isJob(nested) ? nested : exported;
}

let compiling: Promise<void> | undefined;

/**
 * Job modules need no build step: tsx compiles TypeScript as it is imported, through ESM hooks
 * for `import` and CommonJS hooks for `require` (a `.ts` job in a project without `"type"` is
 * CommonJS). Registered on first use, so the library itself never needs tsx.
 */
function compileTypeScriptOnImport(): Promise<void> {
  compiling ??= (async () => {
    const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
    esm.register();
    cjs.register();
    await shareThisSluiceWithRequire();
  })();
  return compiling;
}

/**
 * tsx's CommonJS hook compiles an ES module that is `require`d into a second copy, so a CommonJS
 * job's `require('sluice')` would get classes of its own: its PermanentError would not be an
 * instance of ours, and would be retried. Putting this copy in the require cache under its own
 * path makes `require('sluice')` return it, as Node's own require of an ES module would.
 */
async function shareThisSluiceWithRequire(): Promise<void> {
  const entry = fileURLToPath(
    new URL(`../index${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
  );
  const cache = createRequire(import.meta.url).cache;
  if (cache[entry]) return;
  const shared = new Module(entry);
  shared.filename = entry;
  shared.exports = await import(pathToFileURL(entry).href);
  shared.loaded = true;
  cache[entry] = shared;
}

/** A digest of a job module's text: what the coordinator loaded, for its workers to compare. */
export async function digestOf(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/** True when `path` names a file: what a job module argument must be. */
export async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}
