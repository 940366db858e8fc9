import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeValue, InputError, SluiceError, toError } from '../errors.ts';
import { isJob } from './defineJob.ts';
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
    if (error instanceof SluiceError) throw error;
    const thrown = toError(error);
    // The module's own frames are the useful part: they point at the line that threw.
    const frames = (thrown.stack ?? '')
      .split('\n')
      .filter((line) => /^\s+at /.test(line) && !line.includes('node:internal'))
      .slice(0, 10);
    const failure = new InputError(
      [`Job module \`${path}\` threw on import: ${thrown.message}`, ...frames].join('\n'),
    );
    failure.stack = thrown.stack ?? failure.stack;
    throw failure;
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
  })();
  return compiling;
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
