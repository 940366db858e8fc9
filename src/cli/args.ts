import { type ParseArgsConfig, parseArgs } from 'node:util';
import { expected, InputError, SluiceError } from '../errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** `--help` or `-h` on a command: the CLI prints its usage and exits 0. */
export class HelpRequested extends SluiceError {
  override name = 'HelpRequested';
}

/** Parses a command's arguments; an unknown or malformed option is one InputError line. */
export function parse<O extends Options>(argv: string[], options: O, usage: string) {
  if (argv.includes('--help') || argv.includes('-h')) throw new HelpRequested(`usage: ${usage}`);
  try {
    return parseArgs({
      args: withNegativeValues(argv, options),
      options,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    // Node's messages run on with advice about `--`; the first sentence is the useful part.
    const first = (error as Error).message.split(/\.\s/)[0];
    throw new InputError(`${first}; usage: ${usage}`);
  }
}

/**
 * `--parallelism -1` as `--parallelism=-1`: Node reads a value that starts with `-` as another
 * option and calls it ambiguous, where the user meant a (bad) number that deserves its own error.
 */
function withNegativeValues(argv: string[], options: Options): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const next = argv[i + 1];
    const takesValue = arg.startsWith('--') && options[arg.slice(2)]?.type === 'string';
    if (takesValue && next !== undefined && /^-\d/.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else args.push(arg);
  }
  return args;
}

/** Reads an optional whole-number flag, e.g. `--max-parallelism 8`. */
export function wholeFlag(
  name: string,
  value: string | undefined,
  min: number,
): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min) {
    throw expected(`--${name}`, `a whole number >= ${min}`, value);
  }
  return parsed;
}

/** The single positional argument a command needs, or an error with its usage. */
export function onePositional(positionals: string[], what: string, usage: string): string {
  if (positionals.length !== 1) {
    throw new InputError(
      positionals.length === 0
        ? `Missing ${what}; usage: ${usage}`
        : `Unexpected argument \`${positionals[1]}\`; usage: ${usage}`,
    );
  }
  return positionals[0] as string;
}
