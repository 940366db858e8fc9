import { InputError, SluiceError } from '../errors.ts';
import { redactSecrets } from '../store/redact.ts';
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
  if (error instanceof InputError) {
    console.error(`sluice: ${redactSecrets(error.message)}`);
    if (process.env.SLUICE_DEBUG && error.stack) console.error(redactSecrets(error.stack));
    return exitCodes.badInput;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  console.error(
    `sluice: ${error instanceof SluiceError ? '' : 'internal error: '}${redactSecrets(message)}`,
  );
  return exitCodes.internal;
}

const code = await main(process.argv.slice(2)).catch(report);
// Exit now: a task function that ignored its AbortSignal may still hold timers open.
// (stdout and stderr are synchronous for files and pipes on Linux, so no output is lost.)
process.exit(code);
