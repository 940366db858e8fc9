import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError, toError } from '../errors.ts';

/**
 * A job module that cannot be imported: a syntax error, a missing import, or code that throws at
 * the top level. Its first line is `file:line:col: message`, the form editors and terminals turn
 * into a link, so the CLI prints it without its usual `sluice:` prefix.
 */
export class JobModuleError extends InputError {
  override name = 'JobModuleError';
}

interface Place {
  file: string;
  line: number;
  /** 1-based, as compilers print it. */
  column: number;
}

/**
 * Turns what an import threw into a JobModuleError. Frames from the loaders (tsx, esbuild), from
 * Node's internals and from node_modules say nothing about the job, so only the job's own stay.
 */
export async function importFailure(modulePath: string, thrown: unknown): Promise<JobModuleError> {
  const error = toError(thrown);
  const file = resolve(modulePath);
  const found =
    (await syntaxError(error, file)) ?? (await missingImport(error, file)) ?? thrownAt(error, file);
  const failure = new JobModuleError(
    [`${show(found.place)}: ${found.message}`, ...ownFrames(error.stack)].join('\n'),
  );
  failure.stack = error.stack ?? failure.stack;
  return failure;
}

interface Found {
  place: Place;
  message: string;
}

const show = (place: Place) => `${shortPath(place.file)}:${place.line}:${place.column}`;

/** Relative to the working directory when inside it, as the user typed it. */
function shortPath(file: string): string {
  const path = relative(process.cwd(), file);
  return path.startsWith('..') || isAbsolute(path) ? file : path;
}

// sluice's own files: dist/, and src/ where source maps point.
const sluiceRoot = fileURLToPath(new URL('../..', import.meta.url));
const sluiceFiles = [`${sluiceRoot}dist/`, `${sluiceRoot}src/`];

function ownFrames(stack: string | undefined): string[] {
  return (
    (stack ?? '')
      .split('\n')
      .filter((line) => /^\s+at /.test(line))
      .filter((line) => !/node:internal|node_modules|\(node:|at node:/.test(line))
      .filter((line) => !sluiceFiles.some((dir) => line.includes(dir)))
      // A thread or process worker's bundle of the job (see run/executors/workerBundle.ts).
      .filter((line) => !/sluice-worker-\d+-|<stdin>/.test(line))
      .slice(0, 10)
  );
}

const loaders = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx', '.jsx': 'jsx' } as const;

/**
 * tsx reports a TypeScript syntax error as esbuild's "Transform failed" text, and Node reports a
 * JavaScript one with no place in the stack at all. Parsing the file again with esbuild gives
 * both a place and a plain message.
 */
async function syntaxError(error: Error, entry: string): Promise<Found | undefined> {
  const transform = /Transform failed with \d+ errors?:\n(.+?):(\d+):(\d+): ERROR: /.exec(
    error.message,
  );
  if (!transform && error.name !== 'SyntaxError') return undefined;
  // The failing file: the one esbuild names (tsx names a `.mts` or `.cts` file as `.ts`), the one
  // a CommonJS stack starts with, or the job itself. Parsing each again tells which it is: the
  // one whose error is where esbuild said, else the first that does not parse.
  const named = transform?.[1] ?? /^(\/[^\n]+?):\d+\n/.exec(error.stack ?? '')?.[1];
  const candidates = named
    ? [entry, named, named.replace(/\.ts$/, '.mts'), named.replace(/\.ts$/, '.cts')]
    : [entry];
  const found: Found[] = [];
  for (const file of new Set(candidates)) {
    const parsed = await parseError(file);
    if (parsed) found.push(parsed);
  }
  const at = transform && { line: Number(transform[2]), column: Number(transform[3]) + 1 };
  const match = at && found.find((f) => f.place.line === at.line && f.place.column === at.column);
  return (
    match ??
    found[0] ?? {
      place: { file: entry, line: 1, column: 1 },
      message: error.message.split('\n')[0] ?? '',
    }
  );
}

/** Parses a file with esbuild; its first error, with a 1-based column, if it has one. */
async function parseError(file: string): Promise<Found | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const { transform } = await import('esbuild');
  const loader = loaders[extname(file) as keyof typeof loaders] ?? 'js';
  try {
    await transform(text, { loader, sourcefile: file, logLevel: 'silent' });
    return undefined;
  } catch (failure) {
    const first = (failure as { errors?: EsbuildMessage[] }).errors?.[0];
    if (!first?.location) return undefined;
    const { line, column } = first.location;
    return { place: { file, line, column: column + 1 }, message: first.text };
  }
}

interface EsbuildMessage {
  text: string;
  location: { line: number; column: number } | null;
}

/**
 * Node names the missing specifier and the importing file, but not the line. The line is the
 * import in that file whose specifier is the missing one, or resolves to the missing path.
 */
async function missingImport(error: Error, entry: string): Promise<Found | undefined> {
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return undefined;
  const esm = /^Cannot find (package|module) '([^']+)' imported from (.+)$/m.exec(error.message);
  const cjs = /^Cannot find module '([^']+)'\nRequire stack:\n- (.+)$/m.exec(error.message);
  const kind = esm?.[1] ?? 'module';
  const missing = esm?.[2] ?? cjs?.[1];
  const importer = esm?.[3] ?? cjs?.[2] ?? entry;
  if (missing === undefined) return undefined;
  const file = importer.startsWith('file:') ? fileURLToPath(importer) : importer;
  const text = await readFile(file, 'utf8').catch(() => '');
  const specifiers =
    /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s*)(['"])([^'"]+)\1/gm;
  for (const match of text.matchAll(specifiers)) {
    const specifier = match[2] as string;
    const same = specifier === missing || resolve(dirname(file), specifier) === missing;
    if (!same) continue;
    const at = (match.index ?? 0) + match[0].indexOf(match[1] as string);
    const before = text.slice(0, at).split('\n');
    const place = { file, line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
    const bare = !specifier.startsWith('.') && !isAbsolute(specifier);
    const what = kind === 'package' || bare ? 'package' : 'module';
    return { place, message: `Cannot find ${what} '${specifier}'` };
  }
  return {
    place: { file, line: 1, column: 1 },
    message: `Cannot find ${kind} '${missing}'`,
  };
}

/** Code that threw while the module ran: the first frame in the job's own files is the place. */
function thrownAt(error: Error, entry: string): Found {
  for (const frame of ownFrames(error.stack)) {
    const match = /\(?((?:file:\/\/)?\/[^():]+):(\d+):(\d+)\)?$/.exec(frame.trim());
    if (!match) continue;
    const file = (match[1] as string).startsWith('file:')
      ? fileURLToPath(match[1] as string)
      : (match[1] as string);
    return {
      place: { file, line: Number(match[2]), column: Number(match[3]) },
      message: error.message,
    };
  }
  return { place: { file: entry, line: 1, column: 1 }, message: error.message };
}
