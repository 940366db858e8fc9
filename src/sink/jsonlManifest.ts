import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Outcome } from '../job/outcome.ts';
import type { Events } from '../observe/events.ts';
import { toJsonText } from '../store/json.ts';

/** One line of the manifest: an outcome with the chunk it came from. */
export function manifestLine(job: string, task: number, outcome: Outcome): string {
  return toJsonText({ job, task, ...outcome });
}

/**
 * Streams every outcome a run records into a JSONL file as it lands: the output and the retry
 * manifest in one. A freshly planned job starts the file anew; a resumed or retried one appends,
 * so the last line for an item is its latest outcome.
 */
export function writeManifest(events: Events, path: string, job: string, append: boolean) {
  let file: WriteStream | undefined;
  let failure: Error | undefined;
  const open = (fresh: boolean) => {
    file = createWriteStream(path, { flags: fresh && !append ? 'w' : 'a' });
    file.on('error', (error) => {
      failure = error;
    });
  };
  const stops = [
    events.on('job:planned', (e) => open(e.created)),
    events.on('task:outcomes', ({ seq, outcomes }) => {
      if (!file) open(false);
      file?.write(`${outcomes.map((o) => manifestLine(job, seq, o)).join('\n')}\n`);
    }),
  ];
  return async function close(): Promise<void> {
    for (const stop of stops) stop();
    if (file) {
      file.end();
      await once(file, 'close');
    }
    if (failure) throw failure;
  };
}
