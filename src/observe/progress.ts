import type { Events, ProgressSnapshot } from './events.ts';
import { count, duration } from './format.ts';

export interface ProgressOptions {
  /** Where progress goes; stdout stays free for the summary and --json. */
  stream: NodeJS.WriteStream;
  /** Redraw one live bar (a terminal) or print a plain line now and then (a log). */
  live: boolean;
  /** Plain-line interval. Default 5 s. */
  everyMs?: number;
  taskNoun: string;
}

/** The progress line: tasks done/total, items, rate and ETA. */
export function progressText(p: ProgressSnapshot, unit: string, taskNoun: string): string {
  const rate = p.elapsedMs > 0 ? (p.itemsThisRun * 1000) / p.elapsedMs : 0;
  const left = p.totalItems - p.doneItems - p.failedItems;
  const parts = [`${p.doneTasks}/${p.totalTasks} ${taskNoun}`];
  if (p.totalItems > 0) parts.push(`${count(p.doneItems)}/${count(p.totalItems)} ${unit}`);
  if (rate > 0) parts.push(`${count(rate)} ${unit}/s`, `ETA ${duration(left / rate)}`);
  parts.push(`${p.runningTasks} running`);
  if (p.failedTasks > 0) parts.push(`${p.failedTasks} failed`);
  return parts.join(' · ');
}

function bar(p: ProgressSnapshot, width: number): string {
  const ratio = p.totalTasks === 0 ? 1 : (p.doneTasks + p.failedTasks) / p.totalTasks;
  const filled = Math.round(ratio * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}

/**
 * Shows a run's progress from its events: a redrawn bar on a terminal, a plain line every few
 * seconds otherwise. Task logs and failures print above the bar. Returns a function that stops it.
 */
export function showProgress(events: Events, options: ProgressOptions): () => void {
  const { stream, live } = options;
  let unit = 'items';
  let last: ProgressSnapshot | undefined;
  let lastPlainAt = 0;
  let drawn = false;
  let cap: number | undefined;

  const clear = () => {
    if (live && drawn) stream.write('\r\x1b[2K');
    drawn = false;
  };
  const draw = () => {
    if (!last) return;
    const text = `${progressText(last, unit, options.taskNoun)}${cap === undefined ? '' : ` · cap ${cap}`}`;
    if (live) {
      stream.write(`\r\x1b[2K${bar(last, 24)} ${text}`);
      drawn = true;
    } else if (performance.now() - lastPlainAt >= (options.everyMs ?? 5000)) {
      lastPlainAt = performance.now();
      stream.write(`progress: ${text}\n`);
    }
  };
  const print = (line: string) => {
    clear();
    stream.write(`${line}\n`);
    draw();
  };

  const stops = [
    events.on('job:planned', (e) => {
      unit = e.unit;
      print(
        e.created
          ? `Planned ${e.job}: ${count(e.tasks)} ${options.taskNoun}, ${count(e.items)} ${e.unit}`
          : `Resuming ${e.job}: ${count(e.tasks)} ${options.taskNoun}, ${count(e.items)} ${e.unit}`,
      );
    }),
    events.on('job:progress', (p) => {
      last = p;
      draw();
    }),
    events.on('job:stopping', (e) =>
      print(
        e.reason === 'interrupt'
          ? 'Stopping: running tasks will finish; press Ctrl-C again to abort them'
          : 'Aborting running tasks',
      ),
    ),
    events.on('task:log', (e) => print(`[task ${e.seq}] ${e.message}`)),
    events.on('task:retrying', (e) =>
      print(
        `[task ${e.seq}] attempt ${e.attempt} failed: ${e.error.message}; retrying in ${duration(e.delayMs / 1000)}`,
      ),
    ),
    events.on('task:failed', (e) =>
      print(`[task ${e.seq}] failed after ${e.attempt} attempts: ${e.error.message}`),
    ),
    events.on('task:reclaimed', (e) =>
      print(`Reclaimed ${e.count} task(s) from a worker that died`),
    ),
  ];
  return () => {
    for (const stop of stops) stop();
    clear();
  };
}
