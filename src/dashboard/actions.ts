import { InputError } from '../errors.ts';
import { count } from '../observe/format.ts';
import { cancelJob, pauseJob, resumeJob } from '../run/jobControl.ts';
import type { Store } from '../store/index.ts';

export const actionNames = ['pause', 'resume', 'cancel', 'replay', 'purge'] as const;
export type ActionName = (typeof actionNames)[number];

export function isAction(name: string): name is ActionName {
  return (actionNames as readonly string[]).includes(name);
}

/**
 * Runs one action through the functions the CLI's `pause`, `resume`, `cancel` and `dlq` use, and
 * says what it did in one line. A refusal (pausing a finished job) throws the store's InputError.
 */
export async function runAction(store: Store, action: ActionName, job: string): Promise<string> {
  switch (action) {
    case 'pause': {
      const r = await pauseJob(store, job, 'paused from the dashboard');
      return r.changed
        ? `Paused ${job}: running tasks finish and no new ones start`
        : `${job} is already paused`;
    }
    case 'resume': {
      const r = await resumeJob(store, job);
      return r.changed
        ? `Resumed ${job}; a waiting worker carries on, or run it again with \`sluice run\``
        : `${job} is already running`;
    }
    case 'cancel': {
      const r = await cancelJob(store, job, 'cancelled from the dashboard');
      return r.changed
        ? `Cancelled ${job}: running tasks are aborted`
        : `${job} is already cancelled`;
    }
    case 'replay': {
      const row = await findJob(store, job);
      const queued = await store.requeueDeadLetters(row.id);
      return queued.letters === 0
        ? `No dead letters to replay in ${job}`
        : `Queued ${count(queued.letters)} dead letter(s) of ${job} in ${queued.tasks} task(s); a worker or \`sluice run\` runs them`;
    }
    case 'purge': {
      const row = await findJob(store, job);
      const purged = await store.purgeDeadLetters(row.id);
      return `Purged ${count(purged)} dead letter(s) from ${job}`;
    }
  }
}

async function findJob(store: Store, name: string) {
  const row = await store.findJob(name);
  if (!row) throw new InputError(`No job named \`${name}\``);
  return row;
}
