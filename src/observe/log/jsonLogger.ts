import type { DestinationStream } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

type Log = (fields: Record<string, unknown>, msg: string) => void;

/**
 * What the JSON renderer of events writes to: pino's `logger.info(fields, msg)` shape, so a
 * library user can pass their own pino logger (or anything with these three methods).
 */
export interface EventLogger {
  info: Log;
  warn: Log;
  error: Log;
}

export interface JsonLogger extends EventLogger {
  debug: Log;
}

/**
 * A pino logger whose lines are `{"level":"info","time":"<ISO 8601>",…fields,"msg":…}`, with no
 * pid or hostname. By default it writes to stderr synchronously: the CLI ends with process.exit,
 * which would drop lines still buffered. pino loads here, on first use, not at CLI start-up.
 */
export async function createJsonLogger(destination?: DestinationStream): Promise<JsonLogger> {
  const { pino } = await import('pino');
  const logger: JsonLogger = pino(
    {
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      level: 'debug',
    },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
  return logger;
}
