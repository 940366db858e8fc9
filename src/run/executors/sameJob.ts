import { InputError } from '../../errors.ts';
import type { Job } from '../../job/types.ts';
import type { LoadedJobIdentity } from './protocol.ts';

/**
 * A worker imports the job again by path. If that finds another job (the file was edited since
 * the run began, or a loader resolved a sibling such as `job.mts` for `job.mjs`), running it
 * would mix two jobs' work under one name, so the worker refuses.
 */
export function refuseAnotherJob(path: string, expected: LoadedJobIdentity, found: Job): void {
  const differs =
    found.name !== expected.name
      ? `job \`${found.name}\`, not \`${expected.name}\``
      : found.source.fingerprint !== expected.fingerprint
        ? `job \`${found.name}\` with another plan (${found.source.describe})`
        : expected.moduleDigest !== undefined && found.moduleDigest !== expected.moduleDigest
          ? `job \`${found.name}\` from a file whose text changed since the run began`
          : undefined;
  if (differs) {
    throw new InputError(
      `Worker refused to run: \`${path}\` gave ${differs}; restart the run so every worker loads the same job`,
    );
  }
}
