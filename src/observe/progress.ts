import type { Events, ProgressSnapshot } from './events.ts';
import { count, duration } from './format.ts';
import { liveCounts } from './liveCounts.ts';
import { liveProgressLine, progressText } from './progressLine.ts';
import type { RunSummary } from './summary.ts';

export { progressText } from './progressLine.ts';

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

const alertOutcome = {
  warn: 'the job goes on',
  pause: 'pausing the job',
  abort: 'aborting the job',
};

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
  const counts = liveCounts(events);

  const clear = () => {
    if (live && drawn) stream.write('\r\x1b[2K');
    drawn = false;
  };
  const draw = () => {
    if (!last) return;
    if (live) {
      // Read at every draw: the terminal may have been resized.
      const columns = stream.columns || 80;
      const line = liveProgressLine(last, { unit, taskNoun: options.taskNoun, cap, columns });
      stream.write(`\r\x1b[2K${line}`);
      drawn = true;
    } else if (performance.now() - lastPlainAt >= (options.everyMs ?? 5000)) {
      lastPlainAt = performance.now();
      const text = progressText(last, unit, options.taskNoun);
      stream.write(`progress: ${text}${cap === undefined ? '' : ` · cap ${cap}`}\n`);
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
      last = counts.add(p);
      draw();
    }),
    events.on('limit:cap', (e) => {
      cap = e.cap;
    }),
    // The bar's last state is the run's own, read from the store as the summary is.
    events.on('job:done', (summary) => {
      if (!live || !last) return;
      last = finalSnapshot(summary);
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
    events.on('store:lost', (e) =>
      print(
        `Lost the connection to the database (${e.reason}); reconnecting for up to ${duration(e.reconnectForMs / 1000)}`,
      ),
    ),
    events.on('store:back', (e) =>
      print(
        `Reconnected after ${(e.afterMs / 1000).toFixed(1)}s; resuming, with the interrupted tasks redone`,
      ),
    ),
    events.on('task:reclaimed', (e) =>
      print(`Reclaimed ${e.count} task(s) from a worker that died`),
    ),
  ];
  return () => {
    for (const stop of stops) stop();
    counts.close();
    // The last line stays on screen, above the summary.
    if (live && drawn) stream.write('\n');
    drawn = false;
  };
}

function finalSnapshot(s: RunSummary): ProgressSnapshot {
  return {
    totalTasks: s.tasks.total,
    totalItems: s.total,
    doneTasks: s.tasks.done,
    doneItems: s.done,
    failedTasks: s.tasks.failed,
    failedItems: s.failed,
    runningTasks: 0,
    itemsThisRun: (s.itemsPerSec * s.elapsedMs) / 1000,
    elapsedMs: s.elapsedMs,
  };
}
