import { createReadStream } from 'node:fs';
import { access, constants, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { expected, InputError } from '../errors.ts';
import { optionNames, refuseUnknownOptions } from '../optionNames.ts';

export type FileFormat = 'lines' | 'jsonl' | 'csv';

/** Items read from a file, one per line (`lines`, `jsonl`) or per record (`csv`, with a header row). */
export interface FileInput {
  file: string;
  /** Default: from the extension (`.jsonl`/`.ndjson`, `.csv`, otherwise lines). */
  format?: FileFormat;
  /** Default: true when the name ends in `.gz`. */
  gzip?: boolean;
}

const fileInputNames = optionNames<FileInput>({ file: true, format: true, gzip: true });

/** Names a file of items for `chunks(...)`, with its format when the extension does not tell. */
export function fromFile(file: string, options: Omit<FileInput, 'file'> = {}): FileInput {
  if (typeof options !== 'object' || options === null)
    throw expected('fromFile options', 'an object such as { format: `csv` }', options);
  const names = fileInputNames.filter((name) => name !== 'file');
  refuseUnknownOptions(options, names, { where: 'fromFile(file, {...})' });
  return resolveFile({ file, ...options });
}

/** Fills in a file's format and compression; `where` names the call it was given to. */
export function resolveFile(
  input: FileInput,
  where = 'chunks({ file, ... })',
): Required<FileInput> {
  refuseUnknownOptions(input, fileInputNames, { where });
  if (typeof input.file !== 'string' || input.file.length === 0)
    throw expected('file', 'a path', input.file);
  const gzip = input.gzip ?? input.file.endsWith('.gz');
  const base = input.file.replace(/\.gz$/, '');
  const format =
    input.format ??
    (/\.(jsonl|ndjson)$/.test(base) ? 'jsonl' : base.endsWith('.csv') ? 'csv' : 'lines');
  if (!['lines', 'jsonl', 'csv'].includes(format))
    throw expected('format', '`lines`, `jsonl` or `csv`', format);
  return { file: input.file, format, gzip };
}

/** Refuses a file that is missing, unreadable or not a file, before anything is planned. */
export async function checkReadable(file: string): Promise<{ size: number; mtimeMs: number }> {
  try {
    await access(file, constants.R_OK);
    const info = await stat(file);
    if (!info.isFile()) throw new InputError(`Cannot read \`${file}\`: not a file`);
    return { size: info.size, mtimeMs: info.mtimeMs };
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(
      `Cannot read \`${file}\`: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
}

/**
 * Streams the items of a file, so a file of any size is read in constant memory. A malformed
 * line throws an InputError naming the file and line, which aborts the plan before it commits.
 */
export async function* readItems(input: Required<FileInput>): AsyncGenerator<unknown> {
  await checkReadable(input.file);
  const raw = createReadStream(input.file);
  const stream: Readable = input.gzip ? raw.pipe(createGunzip()) : raw;
  raw.on('error', (error) => stream.destroy(error));
  try {
    if (input.format === 'csv') yield* csvRecords(stream, input.file);
    else yield* lineItems(stream, input);
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('Z_'))
      throw new InputError(`\`${input.file}\` is not gzip data (${(error as Error).message})`);
    throw new InputError(`Cannot read \`${input.file}\`: ${(error as Error).message}`);
  } finally {
    raw.destroy();
  }
}

async function* lineItems(stream: Readable, input: Required<FileInput>): AsyncGenerator<unknown> {
  let line = 0;
  for await (const text of createInterface({
    input: stream,
    crlfDelay: Number.POSITIVE_INFINITY,
  })) {
    line += 1;
    const trimmed = text.trim();
    if (trimmed.length === 0) continue;
    if (input.format === 'lines') {
      yield trimmed;
      continue;
    }
    try {
      yield JSON.parse(trimmed);
    } catch (error) {
      throw new InputError(
        `${input.file}:${line}: malformed JSON line (${(error as Error).message})`,
      );
    }
  }
}

async function* csvRecords(stream: Readable, file: string): AsyncGenerator<unknown> {
  // Loaded on first use, so that start-up does not pay for a parser most commands never use.
  const { parse: parseCsv } = await import('csv-parse');
  const parser = stream.pipe(parseCsv({ columns: true, skip_empty_lines: true, trim: true }));
  try {
    for await (const record of parser) yield record;
  } catch (error) {
    const { lines, message } = error as { lines?: number; message: string };
    if (lines === undefined) throw error;
    throw new InputError(
      `${file}:${lines}: malformed CSV (${message.replace(/^Invalid [^:]*: /, '')})`,
    );
  }
}
