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
  /** What items are called until the job says (`job:planned`). Default `items`. */
  unit?: string;
}

/**
 * The progress line, with the seed's five metrics: processed (done or failed) of all items,
 * failed with the failure rate among the processed, elapsed, throughput; then ETA and running tasks.
 */
export function progressText(p: ProgressSnapshot, unit: string, taskNoun: string): string {
  const rate = p.elapsedMs > 0 ? (p.itemsThisRun * 1000) / p.elapsedMs : 0;
  const processed = p.doneItems + p.failedItems;
  const failedPercent = processed === 0 ? 0 : (p.failedItems / processed) * 100;
  const parts = [`${p.doneTasks}/${p.totalTasks} ${taskNoun}`];
  if (p.totalItems > 0) parts.push(`${count(processed)}/${count(p.totalItems)} ${unit}`);
  parts.push(`${count(p.failedItems)} failed (${failedPercent.toFixed(1)}%)`);
  parts.push(duration(p.elapsedMs / 1000), `${count(rate)} ${unit}/s`);
  if (rate > 0) parts.push(`ETA ${duration((p.totalItems - processed) / rate)}`);
  parts.push(`${p.runningTasks} running`);
  return parts.join(' · ');
}

const alertOutcome = {
  warn: 'the job goes on',
  pause: 'pausing the job',
  abort: 'aborting the job',
};

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
  let unit = options.unit ?? 'items';
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
    events.on('job:waiting', (e) =>
      print(
        e.finished
          ? `Job ${e.job} is finished; waiting for a rerun to plan it again (\`sluice run --rerun\`)`
          : `Waiting for job ${e.job} to be planned (\`sluice run <job.ts> --detach\` plans it)`,
      ),
    ),
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
    events.on('job:alert', (e) =>
      print(`Warning: ${e.reason}; ${alertOutcome[e.action]} (alert action \`${e.action}\`)`),
    ),
    events.on('job:control', (e) =>
      print(
        `Job ${e.job} ${e.status === 'failed' ? 'failed' : `is ${e.status}`}${e.reason ? ` (${e.reason})` : ''}: ` +
          (e.status === 'paused'
            ? 'running tasks finish and no new ones start'
            : 'running tasks are aborted'),
      ),
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
