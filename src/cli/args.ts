import { type ParseArgsConfig, parseArgs } from 'node:util';
import { expected, InputError } from '../errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses a command's arguments; an unknown or malformed option is one InputError line. */
export function parse<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    // Node's messages run on with advice about `--`; the first sentence is the useful part.
    const first = (error as Error).message.split(/\.\s/)[0];
    throw new InputError(`${first}; usage: ${usage}`);
  }
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
