import { access, constants, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InputError } from '../errors.ts';

/** Prints one JSON object on stdout; bigints become strings. */
export function printJson(value: unknown): void {
  process.stdout.write(
    `${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`,
  );
}

/** Refuses an output file that cannot be written, before the run starts. */
export async function checkWritable(path: string): Promise<void> {
  const file = resolve(path);
  const existing = await stat(file).catch(() => undefined);
  if (existing?.isDirectory()) throw new InputError(`Cannot write \`${path}\`: it is a directory`);
  try {
    await access(existing ? file : dirname(file), constants.W_OK);
  } catch (error) {
    throw new InputError(
      `Cannot write \`${path}\`: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
}
