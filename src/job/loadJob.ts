import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeValue, InputError, SluiceError } from '../errors.ts';
import { isJob } from './defineJob.ts';
import type { Job } from './types.ts';

/** Imports a job module by path (TypeScript included) and returns its default-exported job. */
export async function loadJob(path: string): Promise<Job> {
  const file = resolve(path);
  const found = await stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!found) throw new InputError(`Cannot find job module \`${path}\``);
  let module: { default?: unknown };
  try {
    module = await import(pathToFileURL(file).href);
  } catch (error) {
    if (error instanceof SluiceError) throw error;
    const failure = new InputError(
      `Job module \`${path}\` threw on import: ${(error as Error)?.message ?? error}`,
    );
    failure.stack = (error as Error)?.stack ?? failure.stack;
    throw failure;
  }
  if (!isJob(module.default)) {
    throw new InputError(
      `Expected \`${path}\` to default-export defineJob({...}), got ${describeValue(module.default)}`,
    );
  }
  return module.default;
}
