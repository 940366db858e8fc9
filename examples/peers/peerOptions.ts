import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Peer } from './httpPeer.ts';

/** Every peer listens on 127.0.0.1; port 0 picks a free ephemeral port. */
export interface ListenOptions {
  /** Default 0: an ephemeral port, read it back from `peer.url`. */
  port?: number;
}

type Check = (name: string, value: unknown) => void;

/** A whole number >= `min`; `Infinity` too when `unlimited` (it switches the limit off). */
export function wholeNumber(min: number, unlimited = false): Check {
  return (name, value) => {
    const ok =
      typeof value === 'number' &&
      ((Number.isInteger(value) && value >= min) || (unlimited && value === Infinity));
    if (!ok) {
      const what = `a whole number >= ${min}${unlimited ? ' or Infinity' : ''}`;
      throw new RangeError(`Expected \`${name}\` to be ${what}, got ${describe(value)}`);
    }
  };
}

export const nonEmptyText: Check = (name, value) => {
  if (typeof value !== 'string' || value === '') {
    throw new RangeError(`Expected \`${name}\` to be a non-empty string, got ${describe(value)}`);
  }
};

/** Fills in defaults and checks every option in one place; unknown names are refused too. */
export function resolveOptions<T extends object>(
  given: NoInfer<Partial<T>>,
  defaults: T,
  checks: NoInfer<{ [K in keyof T]-?: Check }>,
): T {
  for (const name of Object.keys(given)) {
    if (!(name in defaults)) throw new RangeError(`Unknown option \`${name}\``);
  }
  const options = { ...defaults };
  for (const [name, value] of Object.entries(given)) {
    if (value !== undefined) (options as Record<string, unknown>)[name] = value;
  }
  for (const name of Object.keys(defaults) as (keyof T & string)[]) {
    checks[name](name, options[name]);
  }
  return options;
}

function describe(value: unknown): string {
  return `\`${typeof value === 'string' ? JSON.stringify(value) : String(value)}\` (${typeof value})`;
}

/** True when this module is the script node was started with, not an import. */
export function isMainModule(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && resolve(entry) === fileURLToPath(moduleUrl);
}

/**
 * Runs a peer as a command: `--kebab-case` flags map onto the options (numbers where the default
 * is a number), the URL is printed alone on stdout so scripts can read one line, and SIGINT or
 * SIGTERM closes the peer so the process ends by itself.
 */
export async function serveFromCommandLine<T extends object>(
  defaults: Required<T>,
  start: (options: Partial<T>) => Promise<Peer<unknown>>,
  argv = process.argv.slice(2),
): Promise<void> {
  try {
    const peer = await start(parseFlags(argv, defaults));
    process.stdout.write(`${peer.url}\n`);
    const stop = () => void peer.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}

function parseFlags<T extends object>(argv: string[], defaults: Required<T>): Partial<T> {
  const flagFor = (name: string) => name.replace(/[A-Z]/g, (upper) => `-${upper.toLowerCase()}`);
  const names = Object.keys(defaults);
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: Object.fromEntries(names.map((name) => [flagFor(name), { type: 'string' as const }])),
  });
  const options: Record<string, unknown> = {};
  for (const name of names) {
    const raw = values[flagFor(name)];
    if (typeof raw !== 'string') continue;
    if (typeof (defaults as Record<string, unknown>)[name] !== 'number') {
      options[name] = raw;
      continue;
    }
    const value = Number(raw);
    if (raw.trim() === '' || Number.isNaN(value)) {
      throw new RangeError(`Expected \`--${flagFor(name)}\` to be a number, got \`${raw}\``);
    }
    options[name] = value;
  }
  return options as Partial<T>;
}
