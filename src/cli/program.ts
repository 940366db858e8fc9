import { Command, CommanderError } from 'commander';
import { defineControl } from './commands/control.ts';
import { defineDashboard } from './commands/dashboard.ts';
import { defineDlq } from './commands/dlq.ts';
import { definePrune } from './commands/prune.ts';
import { defineRetry } from './commands/retry.ts';
import { defineRun } from './commands/run.ts';
import { defineStatus } from './commands/status.ts';
import { defineWait } from './commands/wait.ts';
import { defineWorker } from './commands/worker.ts';
import { exitCodes } from './exitCodes.ts';
import { formatItem } from './flags.ts';
import { fromCommander } from './parseErrors.ts';
import { packageVersion } from './version.ts';

/** Wraps a command's function as a commander action that records the exit code it returns. */
export type Act = <A extends unknown[]>(
  command: (...args: A) => Promise<number>,
) => (...args: A) => Promise<void>;

const footer = `
With no --database-url and no DATABASE_URL, sluice runs an embedded PostgreSQL under ./.sluice/.
Exit codes: 0 done, 1 internal error, 2 bad input, 3 some tasks failed, 4 the failure alert paused
or aborted the job, 5 cancelled, 6 paused, 7 deadline passed, 130 interrupted.
\`sluice <command> --help\` lists a command's options, each with its default and an example.`;

/**
 * Parses the command line and runs the command, resolving with its exit code. Bad input rejects
 * with an InputError; commander prints help and the version itself, and never exits the process.
 */
export async function runCli(argv: string[]): Promise<number> {
  let code: number = exitCodes.ok;
  const program = buildProgram((command) => async (...args) => {
    code = await command(...args);
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return error.exitCode === 0 ? exitCodes.ok : exitCodes.badInput;
  }
  return code;
}

/** Every command, its flags and help; `act` is how a parsed command line runs its command. */
export function buildProgram(act: Act): Command {
  const program = new Command('sluice')
    .description('batch jobs over database rows, in parallel, capped, resumable')
    .version(packageVersion(), '-v, --version', 'prints the version')
    .helpOption('-h, --help', 'prints help')
    .helpCommand('help [command]', 'prints help for a command')
    // Options after a command's name are that command's: `sluice run job.ts -v` is not --version.
    .enablePositionalOptions()
    .configureHelp({ formatItem })
    .addHelpText('after', footer);
  defineRun(program, act);
  defineWorker(program, act);
  defineWait(program, act);
  defineStatus(program, act);
  defineRetry(program, act);
  defineControl(program, act);
  defineDlq(program, act);
  defineDashboard(program, act);
  definePrune(program, act);
  for (const command of everyCommand(program)) {
    command
      // Errors become sluice's own one line (see fromCommander), printed by main.ts.
      .configureOutput({ outputError: () => {} })
      .exitOverride((error) => {
        throw fromCommander(error, command);
      });
  }
  // A command given no subcommand prints one line, not its help on stderr; bare `sluice` does.
  for (const command of program.commands) {
    if (command.commands.length > 0) command.configureOutput({ writeErr: () => {} });
  }
  return program;
}

/** The program and every command below it. */
export function everyCommand(command: Command): Command[] {
  return [command, ...command.commands.flatMap(everyCommand)];
}
