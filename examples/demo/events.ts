import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/**
 * Writes `files` gzipped JSONL files of `perFile` events each into `dir`, unless they are there.
 * Consecutive files overlap by 10 events, as re-delivered exports do, so loading them must be
 * idempotent to count each event once.
 */
export async function createDemoEventFiles(dir: string, files = 40, perFile = 5000): Promise<void> {
  await mkdir(dir, { recursive: true });
  const existing = (await readdir(dir)).filter((name) => name.endsWith('.jsonl.gz'));
  if (existing.length === files) return;
  for (let f = 0; f < files; f++) {
    const first = f * (perFile - 10);
    const lines = Array.from({ length: perFile }, (_, i) => {
      const id = first + i + 1;
      return JSON.stringify({
        event_id: id,
        user_id: (id * 7919) % 5000,
        ts: new Date(1_767_225_600_000 + id * 1000),
      });
    });
    await writeFile(
      join(dir, `events-${String(f).padStart(4, '0')}.jsonl.gz`),
      gzipSync(`${lines.join('\n')}\n`),
    );
  }
}

/** Lists the event files lazily, at plan time, after `prepare` has written them. */
export async function* eventFiles(dir: string): AsyncGenerator<string> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.jsonl.gz')).sort();
  for (const name of names) {
    const path = join(dir, name);
    if ((await stat(path)).isFile()) yield path;
  }
}
