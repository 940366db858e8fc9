import type { Command, CommanderError } from 'commander';
import { InputError } from '../errors.ts';

/**
 * A command line that commander refused, as sluice's one line: the unknown command or flag and
 * the nearest known one (from commander's own suggestion), a missing or extra argument with the
 * command's usage. Help, the version, and a missing command (its help is printed) stay
 * CommanderErrors, which the CLI turns into exit codes.
 */
export function fromCommander(error: CommanderError, command: Command): Error {
  const first = error.message.split('\n', 1)[0] ?? '';
  const quoted = /'([^']*)'/.exec(first)?.[1] ?? '';
  const usage = `usage: ${fullName(command)} ${command.usage()}`;
  switch (error.code) {
    case 'commander.unknownOption': {
      const near = suggestion(error.message);
      return new InputError(
        `Unknown option \`${quoted}\`; ${near ?? `\`${fullName(command)} --help\` lists the options`}`,
      );
    }
    case 'commander.unknownCommand': {
      const names = command.commands.map((c) => c.name()).filter((name) => name !== 'help');
      const near = suggestion(error.message);
      if (!command.parent) {
        return new InputError(
          `Unknown command \`${quoted}\`; ${near ?? `expected one of: ${names.join(', ')}`}`,
        );
      }
      return new InputError(
        `Expected a ${command.name()} subcommand (${names.join(', ')}), got \`${quoted}\`; ${near ?? usage}`,
      );
    }
    case 'commander.help':
      // A command that needs a subcommand was given none.
      if (error.exitCode !== 0 && command.parent) {
        const names = command.commands.map((c) => c.name()).filter((name) => name !== 'help');
        return new InputError(
          `Expected a ${command.name()} subcommand (${names.join(', ')}), got none; ${usage}`,
        );
      }
      return error;
    case 'commander.missingArgument': {
      const argument = command.registeredArguments.find((a) => a.name() === quoted);
      return new InputError(`Missing ${argument?.description || `<${quoted}>`}; ${usage}`);
    }
    case 'commander.excessArguments': {
      const extra = command.args[command.registeredArguments.length];
      return new InputError(`Unexpected argument \`${extra}\`; ${usage}`);
    }
    case 'commander.optionMissingArgument':
      return new InputError(`Expected a value after \`${quoted}\`; ${usage}`);
    case 'commander.helpDisplayed':
    case 'commander.version':
      return error;
    default:
      return new InputError(`${first.replace(/^error: /, '')}; ${usage}`);
  }
}

/** Commander's `(Did you mean --x?)` or `(Did you mean one of a, b?)` as `did you mean `x`?`. */
function suggestion(message: string): string | undefined {
  const match = /\(Did you mean (?:one of )?(.+)\?\)/.exec(message);
  if (!match?.[1]) return undefined;
  const names = match[1].split(', ').map((name) => `\`${name}\``);
  return `did you mean ${names.join(' or ')}?`;
}

/** `sluice dlq list`: the command's name with those of its parents. */
function fullName(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}
