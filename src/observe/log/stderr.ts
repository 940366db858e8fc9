import { redactSecrets } from '../../store/redact.ts';
import type { Events } from '../events.ts';
import { type ProgressOptions, showProgress } from '../progress.ts';
import { createJsonLogger, type JsonLogger, type LogLevel } from './jsonLogger.ts';
import { logEvents } from './logEvents.ts';

/** How the CLI writes to stderr: plain lines, or one JSON object a line (`--log-format json`). */
export type LogFormat = 'text' | 'json';

/** A line's own fields; `time`, `level` and `msg` are the logger's. `job` is null for the process. */
export interface LineFields {
  job: string | null;
  /** What happened, as `noun:verb`: an event's name (`task:failed`), or the line's own. */
  event: string;
  level?: LogLevel;
  [field: string]: unknown;
}

// The CLI decides the format once, before it runs a command; the library never reads this.
let json: JsonLogger | undefined;

/**
 * Makes every line the CLI writes to stderr one JSON object, Node's process warnings included
 * (the library's are `process.emitWarning`), which Node would print as `(node:123) Warning: …`.
 */
export async function logStderrAsJson(): Promise<JsonLogger> {
  const logger = await createJsonLogger();
  json = logger;
  process.removeAllListeners('warning');
  process.on('warning', (warning) =>
    logger.warn(
      { job: null, event: 'process:warning', name: warning.name },
      redactSecrets(warning.message),
    ),
  );
  return logger;
}

/** The stderr JSON logger, when `--log-format json` chose it. */
export function stderrJsonLogger(): JsonLogger | undefined {
  return json;
}

/** Writes one line to stderr: the text as it is, or a JSON object with these fields and `msg`. */
export function writeStderr(text: string, fields: LineFields): void {
  if (!json) {
    process.stderr.write(`${text}\n`);
    return;
  }
  const { level = 'info', ...rest } = fields;
  json[level](rest, text);
}

/**
 * Reports a run's events on stderr: the progress bar or plain lines (`showProgress`), or, with
 * `--log-format json`, JSON lines (`logEvents`), with no bar. Returns a function that stops it.
 */
export function reportRunOnStderr(
  events: Events,
  options: Omit<ProgressOptions, 'stream'> & { job: string },
): () => void {
  if (json) return logEvents(events, json, options);
  return showProgress(events, { ...options, stream: process.stderr });
}
