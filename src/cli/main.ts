import { InputError, SluiceError } from '../errors.ts';
import { JobModuleError } from '../job/importFailure.ts';
import { isDatabaseGone } from '../store/reconnect.ts';
import { redactSecrets } from '../store/redact.ts';
import { exitCodes } from './exitCodes.ts';
import { runCli } from './program.ts';

/** The one place that turns errors into a line on stderr and an exit code. */
function report(error: unknown): number {
  if (error instanceof InputError) {
    // A broken job module's first line is `file:line:col: message`, for editors to link.
    const prefix = error instanceof JobModuleError ? '' : 'sluice: ';
    console.error(`${prefix}${redactSecrets(error.message)}`);
    if (process.env.SLUICE_DEBUG && error.stack) console.error(redactSecrets(error.stack));
    return exitCodes.badInput;
  }
  if (isDatabaseGone(error)) {
    // Claims are released by the server as the sessions end, so a rerun resumes.
    const code = (error as { code?: unknown }).code;
    const cause = typeof code === 'string' ? `: ${(error as Error).message}` : '';
    console.error(
      `sluice: lost the connection to the database${redactSecrets(cause)}; run the same command again to resume`,
    );
    if (process.env.SLUICE_DEBUG && error instanceof Error && error.stack)
      console.error(redactSecrets(error.stack));
    return exitCodes.internal;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  console.error(
    `sluice: ${error instanceof SluiceError ? '' : 'internal error: '}${redactSecrets(message)}`,
  );
  return exitCodes.internal;
}

// An error nobody awaits that only says the database went away ends nothing: postgres.js's stray
// TypeError (see isStrayDriverError), or a background query's rejection. The run learns of the
// outage from its own queries, and waits for it or exits with one line. SLUICE_DEBUG=1 shows where
// one came from (a loaded run of the restart test once exited 1 on a `read ECONNRESET`).
function endsTheRun(error: unknown): void {
  if (!isDatabaseGone(error)) process.exit(report(error));
  if (process.env.SLUICE_DEBUG) console.error(redactSecrets(String((error as Error)?.stack)));
}
process.on('uncaughtException', endsTheRun);
process.on('unhandledRejection', endsTheRun);
// `sluice status | head` closes the pipe early; that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(exitCodes.ok);
  throw error;
});

const code = await runCli(process.argv.slice(2)).catch(report);
// Exit now: a task function that ignored its AbortSignal may still hold timers open.
// (stdout and stderr are synchronous for files and pipes on Linux, so no output is lost.)
process.exit(code);
