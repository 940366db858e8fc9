// Thread and process workers start from one JavaScript file built here, once per run, from the job
// module and this package's own TypeScript. Two threads load it in ~80 ms; registering tsx and
// compiling file by file took ~500 ms in each worker, which was most of what a short run lost to
// its pool. Packages stay outside the file, imported from where the job would import them.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Loader, type Plugin } from 'esbuild';

/** The file a worker starts from, the arguments it needs, and how to remove what was built. */
export interface WorkerBoot {
  file: string;
  args: string[];
  dispose(): Promise<void>;
}

const source = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));
const sluiceIndex = source('../../index.ts');
const loadJobFile = source('../../job/loadJob.ts');
const workerEntry = source('./workerEntry.ts');
const bundleBoot = source('./bundleBoot.mjs');
// The fallback: tsx compiles every file as the worker imports it.
const tsxBoot: WorkerBoot = { file: source('./boot.mjs'), args: [], dispose: async () => {} };

/**
 * Builds the worker file for `modulePath`. Anything the bundler cannot follow (say a relative
 * import that only a branch never taken would load) falls back to tsx, which behaves as Node does.
 */
export async function bootFor(modulePath: string): Promise<WorkerBoot> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-worker-'));
  const dispose = () => rm(dir, { recursive: true, force: true });
  const outfile = join(dir, 'worker.mjs');
  try {
    await build({
      stdin: { contents: entryCode(modulePath), resolveDir: dirname(modulePath), loader: 'js' },
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      outfile,
      // Stack traces point at the job's own lines (bundleBoot.mjs turns source maps on).
      sourcemap: 'inline',
      logLevel: 'silent',
      plugins: [sourceFiles],
    });
    return { file: bundleBoot, args: [pathToFileURL(outfile).href], dispose };
  } catch {
    await dispose();
    return tsxBoot;
  }
}

/**
 * The job module is imported lazily through loadJob, so an import that throws is reported as it
 * is under tsx: with the module's own message and frames, not as a worker that failed to start.
 */
function entryCode(modulePath: string): string {
  const s = JSON.stringify;
  return [
    `import { preloadJob } from ${s(loadJobFile)};`,
    `preloadJob(${s(modulePath)}, () => import(${s(modulePath)}));`,
    `await import(${s(workerEntry)});`,
  ].join('\n');
}

const loaders: Record<string, Loader> = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.tsx': 'tsx',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
  '.jsx': 'jsx',
};

const sourceFiles: Plugin = {
  name: 'sluice-worker-sources',
  setup(bundler) {
    // One copy of sluice, the one this code belongs to, whatever the job's folder resolves.
    bundler.onResolve({ filter: /^sluice$/ }, () => ({ path: sluiceIndex }));
    // Packages are imported at run time by absolute path, as the job's folder resolves them; one
    // the bundler cannot find is left for Node, which fails only if the import runs.
    bundler.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.path.startsWith('node:') || args.pluginData === 'resolving') return undefined;
      const found = await bundler.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: 'resolving',
      });
      if (found.errors.length > 0 || !found.path) return { path: args.path, external: true };
      return { path: found.external ? args.path : pathToFileURL(found.path).href, external: true };
    });
    // Each file keeps its own import.meta: a job that reads a file next to itself still finds it.
    bundler.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
      const loader = loaders[extname(args.path)];
      if (!loader) return undefined;
      const text = await readFile(args.path, 'utf8');
      return { contents: withOwnImportMeta(text, args.path), loader };
    });
  },
};

function withOwnImportMeta(text: string, path: string): string {
  const values: Record<string, string> = {
    url: pathToFileURL(path).href,
    filename: path,
    dirname: dirname(path),
  };
  return text.replace(/\bimport\.meta\.(url|filename|dirname)\b/g, (_, key: string) =>
    JSON.stringify(values[key]),
  );
}
