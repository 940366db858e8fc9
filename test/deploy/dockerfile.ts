import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** One Dockerfile instruction, with its continuation lines joined. */
export interface Instruction {
  keyword: string;
  args: string;
}

/** Reads the instructions of a Dockerfile: comments and blank lines dropped, `\` lines joined. */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    // Docker drops comment lines even inside a continued instruction.
    if (line === '' || line.startsWith('#')) continue;
    pending += pending ? ` ${line}` : line;
    if (pending.endsWith('\\')) {
      pending = pending.slice(0, -1).trimEnd();
      continue;
    }
    const [keyword = '', ...rest] = pending.split(/\s+/);
    instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(' ') });
    pending = '';
  }
  return instructions;
}

/** The words of an instruction: its JSON array (exec form), or its text split on spaces. */
export function wordsOf(instruction: Instruction): string[] {
  if (instruction.args.startsWith('[')) return JSON.parse(instruction.args) as string[];
  return instruction.args.split(/\s+/).filter(Boolean);
}

/**
 * The sources of a `COPY` or `ADD` from the build context: every word but the flags and the
 * destination. None for `--from`, whose sources are another stage or image.
 */
export function copySources(instruction: Instruction): string[] {
  const words = wordsOf(instruction);
  if (words.some((word) => word.startsWith('--from'))) return [];
  return words.filter((word) => !word.startsWith('--')).slice(0, -1);
}

/**
 * The paths in `context` that a COPY source names: the path itself, or for a pattern with `*`
 * or `?` in its last segment (as `package*.json`), every entry it matches.
 */
export function matchesInContext(context: string, source: string): string[] {
  const path = source.replace(/^\.\//, '').replace(/\/$/, '') || '.';
  const name = path.split('/').pop() ?? path;
  if (!/[*?]/.test(name)) return exists(join(context, path)) ? [path] : [];
  const dir = dirname(path);
  const pattern = new RegExp(
    `^${name
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  const entries = exists(join(context, dir)) ? readdirSync(join(context, dir)) : [];
  return entries.filter((entry) => pattern.test(entry)).map((entry) => join(dir, entry));
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}
