import type { Events, ProgressSnapshot, SluiceEvents } from '../events.ts';
import { count, duration } from '../format.ts';
import { liveCounts } from '../liveCounts.ts';
import { progressText } from '../progressLine.ts';
import { summaryLine } from '../summary.ts';
import type { EventLogger } from './jsonLogger.ts';

export interface LogEventsOptions {
  /** The job's name, on every line as `job`. */
  job: string;
  /** What tasks are called (`ranges`, `chunks`). Default `tasks`. */
  taskNoun?: string;
  /** What items are called until the job says (`job:planned`). Default `items`. */
  unit?: string;
  /** How often a `job:progress` line is written at most. Default 5 s, as the plain text lines. */
  everyMs?: number;
}

type Level = keyof EventLogger;
type Line = [level: Level, fields: Record<string, unknown>, msg: string];

/**
 * Writes a run's events as log lines, one object each: `{ job, event, …, msg }`, where `event` is
 * the event's name (`task:failed`) and `msg` says it in words, as the text output would. The
 * counterpart of `showProgress` for log pipelines: task logs, retries, failures, alerts, control,
 * outages, and progress every few seconds. Returns a function that stops it.
 */
export function logEvents(
  events: Events,
  logger: EventLogger,
  options: LogEventsOptions,
): () => void {
  const { job } = options;
  const taskNoun = options.taskNoun ?? 'tasks';
  let unit = options.unit ?? 'items';
  let cap: number | undefined;
  let lastProgressAt = -Infinity;
  const counts = liveCounts(events);

  const write = (event: keyof SluiceEvents, [level, fields, msg]: Line) =>
    logger[level]({ job, event, ...fields }, msg);
  const on = <K extends keyof SluiceEvents>(
    name: K,
    line: (e: SluiceEvents[K]) => Line | undefined,
  ) =>
    events.on(name, (e) => {
      const made = line(e);
      if (made) write(name, made);
    });

  const stops = [
    on('job:planned', (e) => {
      unit = e.unit;
      const what = `${count(e.tasks)} ${taskNoun}, ${count(e.items)} ${e.unit}`;
      return [
        'info',
        { created: e.created, tasks: e.tasks, items: e.items, unit: e.unit },
        `${e.created ? 'Planned' : 'Resuming'} ${e.job}: ${what}`,
      ];
    }),
    on('job:waiting', (e) => [
      'info',
      { finished: e.finished },
      e.finished
        ? `Job ${e.job} is finished; waiting for a rerun to plan it again`
        : `Waiting for job ${e.job} to be planned`,
    ]),
    on('limit:cap', (e) => {
      cap = e.cap;
      return undefined;
    }),
    on('job:progress', (p) => {
      const shown = counts.add(p);
      if (performance.now() - lastProgressAt < (options.everyMs ?? 5000)) return undefined;
      lastProgressAt = performance.now();
      return ['info', progressFields(shown, cap), progressText(shown, unit, taskNoun)];
    }),
    on('job:done', (s) => [
      s.status === 'done' ? 'info' : 'warn',
      {
        status: s.status,
        ...(s.stoppedBy ? { stoppedBy: s.stoppedBy, reason: s.reason } : {}),
        total: s.total,
        done: s.done,
        failed: s.failed,
        tasks: s.tasks,
        unit: s.unit,
        elapsedMs: Math.round(s.elapsedMs),
        itemsPerSec: Math.round(s.itemsPerSec),
      },
      summaryLine(s),
    ]),
    on('job:stopping', (e) => [
      'warn',
      { reason: e.reason },
      e.reason === 'interrupt' ? 'Stopping: running tasks will finish' : 'Aborting running tasks',
    ]),
    on('task:log', (e) => [e.level, { task: e.seq }, e.message]),
    on('task:retrying', (e) => [
      'warn',
      { task: e.seq, attempt: e.attempt, delayMs: Math.round(e.delayMs), error: e.error.message },
      `Task ${e.seq} attempt ${e.attempt} failed: ${e.error.message}; retrying in ${duration(e.delayMs / 1000)}`,
    ]),
    on('task:failed', (e) => [
      'error',
      { task: e.seq, attempt: e.attempt, error: e.error.message },
      `Task ${e.seq} failed after ${e.attempt} attempts: ${e.error.message}`,
    ]),
    on('task:done', (e) =>
      e.accepted
        ? undefined
        : [
            'warn',
            { task: e.seq },
            `Task ${e.seq} finished after another worker took it over; its result was refused`,
          ],
    ),
    on('task:reclaimed', (e) => [
      'info',
      { tasks: e.count },
      `Reclaimed ${e.count} task(s) from a worker that died`,
    ]),
    on('job:alert', (e) => [
      'warn',
      { action: e.action, processed: e.processed, failed: e.failed, failureRate: e.failureRate },
      `Failure alert: ${e.reason} (alert action \`${e.action}\`)`,
    ]),
    on('job:control', (e) => [
      e.status === 'failed' ? 'error' : 'warn',
      { status: e.status, reason: e.reason },
      `Job ${e.job} ${e.status === 'failed' ? 'failed' : `is ${e.status}`}${e.reason ? ` (${e.reason})` : ''}`,
    ]),
    on('store:lost', (e) => [
      'warn',
      { reason: e.reason, reconnectForMs: e.reconnectForMs },
      `Lost the connection to the database (${e.reason}); reconnecting for up to ${duration(e.reconnectForMs / 1000)}`,
    ]),
    on('store:back', (e) => [
      'info',
      { afterMs: Math.round(e.afterMs) },
      `Reconnected after ${(e.afterMs / 1000).toFixed(1)}s; resuming, with the interrupted tasks redone`,
    ]),
  ];
  return () => {
    for (const stop of stops) stop();
    counts.close();
  };
}

/** The counts of a progress line, as fields a log query can chart. */
function progressFields(p: ProgressSnapshot, cap: number | undefined): Record<string, unknown> {
  const { totalTasks, doneTasks, failedTasks, runningTasks, totalItems, doneItems, failedItems } =
    p;
  return {
    totalTasks,
    doneTasks,
    failedTasks,
    runningTasks,
    totalItems,
    doneItems,
    failedItems,
    elapsedMs: Math.round(p.elapsedMs),
    ...(cap === undefined ? {} : { cap }),
  };
}
