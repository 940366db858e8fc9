// Thread and process workers start from one JavaScript file built here, once per run, from the job
// module and this package's own TypeScript. Two threads load it in ~80 ms; registering tsx and
// compiling file by file took ~500 ms in each worker, which was most of what a short run lost to
// its pool. Packages stay outside the file, imported from where the job would import them.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, extname, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Loader, Plugin } from 'esbuild';

/** The file a worker starts from, the arguments it needs, and how to remove what was built. */
export interface WorkerBoot {
  file: string;
  args: string[];
  dispose(): Promise<void>;
}

const source = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));
// `.ts` in the repository's source, `.js` in the built package.
const ext = extname(fileURLToPath(import.meta.url));
const sluiceIndex = source(`../../index${ext}`);
// sluice's own imports of computed paths take absolute URLs (loadJob), which work from anywhere.
const sluiceSource = dirname(sluiceIndex) + sep;
const loadJobFile = source(`../../job/loadJob${ext}`);
const workerEntry = source(`./workerEntry${ext}`);
const bundleBoot = source('./bundleBoot.mjs');
// The fallback: tsx compiles every file as the worker imports it.
const tsxBoot: WorkerBoot = { file: source('./boot.mjs'), args: [], dispose: async () => {} };

/**
 * Builds the worker file for `modulePath`. Anything the bundler cannot follow (a relative import
 * that only a branch never taken would load, an `import(path)` of a computed path) falls back to
 * tsx, which resolves as Node does from each file's own folder.
 */
export async function bootFor(modulePath: string): Promise<WorkerBoot> {
  await removeOrphans();
  const dir = await mkdtemp(join(tmpdir(), `${prefix}${process.pid}-`));
  const dispose = () => rm(dir, { recursive: true, force: true });
  const outfile = join(dir, 'worker.mjs');
  // Set when a file does what only its own location can answer: import a computed path.
  const located: string[] = [];
  try {
    // esbuild is loaded here, not at start-up: a CLI command that bundles nothing skips its cost.
    const { build } = await import('esbuild');
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
      plugins: [sourceFiles(located)],
    });
    if (located.length > 0) throw new Error(`${located[0]} imports a computed path`);
    return { file: bundleBoot, args: [pathToFileURL(outfile).href], dispose };
  } catch {
    await dispose();
    return tsxBoot;
  }
}

// Each run's folder names the process that built it, so a later run can tell which are orphans.
const prefix = 'sluice-worker-';

/**
 * Removes the folders of runs whose process is gone: one killed outright (SIGKILL, OOM) could
 * not remove its own. A process of another user (EPERM) is alive and keeps its folder.
 */
async function removeOrphans(): Promise<void> {
  const entries = await readdir(tmpdir()).catch(() => [] as string[]);
  const orphans = entries.filter((entry) => {
    const pid = Number(/^sluice-worker-(\d+)-/.exec(entry)?.[1]);
    return Number.isSafeInteger(pid) && pid > 0 && !isAlive(pid);
  });
  await Promise.all(
    orphans.map((entry) => rm(join(tmpdir(), entry), { recursive: true, force: true })),
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
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

const inNodeModules = (path: string) => path.split(sep).includes('node_modules');
// `import(x)`, `require(x)` or `import.meta.resolve` of anything but a literal resolves from the
// file's folder at run time, which a bundle no longer has.
const computedImport = /\b(?:import|require)\s*\(\s*(?!['"`)])|\bimport\.meta\.resolve\b/;

function sourceFiles(located: string[]): Plugin {
  return {
    name: 'sluice-worker-sources',
    setup(bundler) {
      // One copy of sluice, the one this code belongs to, whatever the job's folder resolves.
      bundler.onResolve({ filter: /^sluice$/ }, () => ({ path: sluiceIndex }));
      // Packages are imported at run time by absolute path, as the job's folder resolves them; one
      // the bundler cannot find is left for Node, which fails only if the import runs. A bare name
      // that resolves to the project's own source (a tsconfig path) or to TypeScript is bundled.
      bundler.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.path.startsWith('node:') || args.pluginData === 'resolving') return undefined;
        const found = await bundler.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: 'resolving',
        });
        if (found.errors.length > 0 || !found.path) return { path: args.path, external: true };
        if (found.external) return { path: args.path, external: true };
        if (!inNodeModules(found.path) || loaders[extname(found.path)] === 'ts') {
          return { path: found.path };
        }
        // `require` takes a path; `import` a URL.
        const required = args.kind === 'require-call' || args.kind === 'require-resolve';
        return { path: required ? found.path : pathToFileURL(found.path).href, external: true };
      });
      // Each file keeps its own import.meta (and __dirname, __filename in CommonJS): a job that
      // reads a file next to itself still finds it.
      bundler.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
        const loader = loaders[extname(args.path)];
        if (!loader) return undefined;
        const text = await readFile(args.path, 'utf8');
        const ours = args.path.startsWith(sluiceSource);
        if (!ours && !inNodeModules(args.path) && computedImport.test(text))
          located.push(args.path);
        return { contents: withOwnLocation(text, args.path), loader };
      });
    },
  };
}

function withOwnLocation(text: string, path: string): string {
  const values: Record<string, string> = {
    url: pathToFileURL(path).href,
    filename: path,
    dirname: dirname(path),
  };
  const located = text.replace(/\bimport\.meta\.(url|filename|dirname)\b/g, (_, key: string) =>
    JSON.stringify(values[key]),
  );
  // CommonJS names, declared at the top unless the file declares them itself (as ESM code often
  // does); on the first line, so every line keeps its number for the source map.
  const declarations = ['filename', 'dirname']
    .filter((key) => new RegExp(`\\b__${key}\\b`).test(text))
    .filter((key) => !new RegExp(`\\b(?:const|let|var|function|class)\\s+__${key}\\b`).test(text))
    .map((key) => `var __${key} = ${JSON.stringify(values[key])};`)
    .join(' ');
  if (!declarations) return located;
  // A shebang must stay first.
  const shebang = located.startsWith('#!') ? located.indexOf('\n') + 1 : 0;
  return located.slice(0, shebang) + declarations + located.slice(shebang);
}
