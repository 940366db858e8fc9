import { InputError, SluiceError } from '../errors.ts';
import { JobModuleError } from '../job/importFailure.ts';
import { type LogFormat, logStderrAsJson, writeStderr } from '../observe/log/stderr.ts';
import { flushSpans } from '../observe/trace.ts';
import { isDatabaseGone } from '../store/reconnect.ts';
import { redactSecrets } from '../store/redact.ts';
import { exitCodes } from './exitCodes.ts';
import { runCli } from './program.ts';

/** The one place that turns errors into a line on stderr and an exit code. */
function report(error: unknown): number {
  const { line, code, stack } = describe(error);
  writeStderr(redactSecrets(line), {
    job: null,
    event: 'cli:error',
    level: 'error',
    exitCode: code,
  });
  if (process.env.SLUICE_DEBUG && stack) debug(stack);
  return code;
}

function describe(error: unknown): { line: string; code: number; stack?: string } {
  const stack = error instanceof Error ? error.stack : undefined;
  if (error instanceof InputError) {
    // A broken job module's first line is `file:line:col: message`, for editors to link.
    const prefix = error instanceof JobModuleError ? '' : 'sluice: ';
    return { line: `${prefix}${error.message}`, code: exitCodes.badInput, stack };
  }
  if (isDatabaseGone(error)) {
    // Claims are released by the server as the sessions end, so a rerun resumes.
    const code = (error as { code?: unknown }).code;
    const cause = typeof code === 'string' ? `: ${(error as Error).message}` : '';
    const line = `sluice: lost the connection to the database${cause}; run the same command again to resume`;
    return { line, code: exitCodes.internal, stack };
  }
  const message = error instanceof Error ? (stack ?? error.message) : String(error);
  const kind = error instanceof SluiceError ? '' : 'internal error: ';
  return { line: `sluice: ${kind}${message}`, code: exitCodes.internal };
}

function debug(text: string): void {
  writeStderr(redactSecrets(text), { job: null, event: 'cli:debug', level: 'debug' });
}

/**
 * `--log-format` (else SLUICE_LOG_FORMAT), read from the command line before commander parses it,
 * so that an error in the command line itself comes out in the format asked for. The flag's own
 * bad value is reported as text, since no format was given.
 */
function logFormatOf(argv: readonly string[], env: NodeJS.ProcessEnv): LogFormat {
  let given: { value: string | undefined; from: string } = {
    value: env.SLUICE_LOG_FORMAT,
    from: 'SLUICE_LOG_FORMAT',
  };
  for (const [index, arg] of argv.entries()) {
    if (arg === '--') break;
    if (arg === '--log-format') given = { value: argv[index + 1], from: '--log-format' };
    else if (arg.startsWith('--log-format=')) {
      given = { value: arg.slice('--log-format='.length), from: '--log-format' };
    }
  }
  const { value, from } = given;
  if (value === undefined || value === '' || value === 'text') return 'text';
  if (value === 'json') return 'json';
  throw new InputError(`Expected \`${from}\` to be \`text\` or \`json\`, got \`${value}\``);
}

// An error nobody awaits that only says the database went away ends nothing: postgres.js's stray
// TypeError (see isStrayDriverError), or a background query's rejection. The run learns of the
// outage from its own queries, and waits for it or exits with one line. SLUICE_DEBUG=1 shows where
// one came from (a loaded run of the restart test once exited 1 on a `read ECONNRESET`).
function endsTheRun(error: unknown): void {
  if (!isDatabaseGone(error)) process.exit(report(error));
  if (process.env.SLUICE_DEBUG) debug(String((error as Error)?.stack));
}
process.on('uncaughtException', endsTheRun);
process.on('unhandledRejection', endsTheRun);
// `sluice status | head` closes the pipe early; that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(exitCodes.ok);
  throw error;
});

async function main(argv: string[]): Promise<number> {
  if (logFormatOf(argv, process.env) === 'json') await logStderrAsJson();
  return runCli(argv);
}

const code = await main(process.argv.slice(2)).catch(report);
// A span exporter that batches (as most do) would lose the last spans to process.exit.
await flushSpans();
// Exit now: a task function that ignored its AbortSignal may still hold timers open.
// (stdout and stderr are synchronous for files and pipes on Linux, so no output is lost.)
process.exit(code);
