import { InputError, SluiceError } from '../errors.ts';
import { isDatabaseGone } from '../store/reconnect.ts';
import { redactSecrets } from '../store/redact.ts';
import { HelpRequested } from './args.ts';
import {
  cancelCommand,
  cancelUsage,
  pauseCommand,
  pauseUsage,
  resumeCommand,
  resumeUsage,
} from './commands/control.ts';
import { dlqCommand, dlqUsage } from './commands/dlq.ts';
import { retryCommand, retryUsage } from './commands/retry.ts';
import { runCommand, runUsage } from './commands/run.ts';
import { statusCommand, statusUsage } from './commands/status.ts';
import { waitCommand, waitUsage } from './commands/wait.ts';
import { workerCommand, workerUsage } from './commands/worker.ts';
import { exitCodes } from './exitCodes.ts';

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  run: runCommand,
  status: statusCommand,
  retry: retryCommand,
  pause: pauseCommand,
  resume: resumeCommand,
  cancel: cancelCommand,
  dlq: dlqCommand,
  worker: workerCommand,
  wait: waitCommand,
};

const help = `sluice: batch jobs over database rows, in parallel, capped, resumable

  ${runUsage}
  ${statusUsage}
  ${retryUsage}
  ${pauseUsage}
  ${resumeUsage}
  ${cancelUsage}
  ${dlqUsage}
  ${workerUsage}
  ${waitUsage}

With no --database-url and no DATABASE_URL, sluice runs an embedded PostgreSQL under ./.sluice/.
Exit codes: 0 done, 1 internal error, 2 bad input, 3 some tasks failed, 4 the failure alert paused
or aborted the job, 5 cancelled, 6 paused, 7 deadline passed, 130 interrupted.`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    console.log(help);
    return name === undefined ? exitCodes.badInput : exitCodes.ok;
  }
  const command = commands[name];
  if (!command)
    throw new InputError(
      `Unknown command \`${name}\`; expected one of: ${Object.keys(commands).join(', ')}`,
    );
  return command(rest);
}

/** The one place that turns errors into a line on stderr and an exit code. */
function report(error: unknown): number {
  if (error instanceof HelpRequested) {
    console.log(error.message);
    return exitCodes.ok;
  }
  if (error instanceof InputError) {
    console.error(`sluice: ${redactSecrets(error.message)}`);
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
    return exitCodes.internal;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  console.error(
    `sluice: ${error instanceof SluiceError ? '' : 'internal error: '}${redactSecrets(message)}`,
  );
  return exitCodes.internal;
}

// A driver error thrown outside any query (see isDatabaseGone) is still reported as one line.
process.on('uncaughtException', (error) => process.exit(report(error)));
// `sluice status | head` closes the pipe early; that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(exitCodes.ok);
  throw error;
});

const code = await main(process.argv.slice(2)).catch(report);
// Exit now: a task function that ignored its AbortSignal may still hold timers open.
// (stdout and stderr are synchronous for files and pipes on Linux, so no output is lost.)
process.exit(code);
