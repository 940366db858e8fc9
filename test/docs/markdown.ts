// Reads the project's docs the way a reader meets them: README.md and every page under docs/.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));

export interface Doc {
  /** Relative to the repository root, e.g. `docs/api.md`. */
  path: string;
  text: string;
}

/** A fenced code block: its language tag and its code, with the line its code starts on. */
export interface CodeBlock {
  lang: string;
  code: string;
  /** 1-based line in the markdown file of the block's first code line. */
  line: number;
}

/** README.md, then docs/*.md in name order. */
export async function readDocs(): Promise<Doc[]> {
  const pages = (await readdir(join(root, 'docs')))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return Promise.all(
    ['README.md', ...pages].map(async (path) => ({
      path,
      text: await readFile(join(root, path), 'utf8'),
    })),
  );
}

/** The fenced blocks of a markdown text (``` or ~~~ fences, closed by the same fence or longer). */
export function codeBlocks(text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = text.split('\n');
  let open: { fence: string; lang: string; line: number; body: string[] } | undefined;
  lines.forEach((line, i) => {
    const fence = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(line);
    if (!open) {
      if (fence?.[1]) open = { fence: fence[1], lang: fence[2] ?? '', line: i + 2, body: [] };
      return;
    }
    const closing = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line)?.[1];
    if (closing && closing[0] === open.fence[0] && closing.length >= open.fence.length) {
      blocks.push({ lang: open.lang.toLowerCase(), code: open.body.join('\n'), line: open.line });
      open = undefined;
    } else {
      open.body.push(line);
    }
  });
  return blocks;
}

/** The text outside fenced blocks, with each block's lines blanked so line numbers still hold. */
export function prose(text: string): string {
  const lines = text.split('\n');
  for (const block of codeBlocks(text)) {
    const first = block.line - 2;
    const last = block.line + block.code.split('\n').length - 1;
    for (let i = first; i <= last && i < lines.length; i++) lines[i] = '';
  }
  return lines.join('\n');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
export function slug(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a page's headings, with GitHub's `-1`, `-2` suffixes for repeats. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of prose(text).split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}
