import { InputError } from '../errors.ts';
import type { JobRow, StatusChange, Store } from '../store/index.ts';

/** What a control command did. */
export interface ControlResult {
  job: string;
  /** The status before the command. */
  previous: JobRow['status'];
  /** The status now. */
  status: JobRow['status'];
  /** False when the job was already in the asked-for state. */
  changed: boolean;
}

/**
 * Pauses a running job: every worker, in every process, claims no more tasks and starts no new
 * item; a running chunk saves its place and goes back to the queue, a running `run` finishes.
 * `sluice run` then exits; `resumeJob` lets it go on.
 */
export function pauseJob(store: Store, name: string, reason = 'paused by `sluice pause`') {
  return control(store, name, {
    from: ['running'],
    to: 'paused',
    reason,
    by: 'user',
  });
}

/**
 * Resumes a paused job, or one that its failure alert or deadline failed, so that `sluice run`
 * (or a waiting worker) carries on. The alert counts afresh from here.
 */
export function resumeJob(store: Store, name: string) {
  return control(store, name, {
    from: ['paused', 'failed'],
    to: 'running',
    stoppedOnly: true,
  });
}

/**
 * Cancels a running or paused job: running tasks get their AbortSignal and are given back, and
 * the job ends `cancelled`. The reports of finished tasks stay.
 */
export function cancelJob(store: Store, name: string, reason = 'cancelled by `sluice cancel`') {
  return control(store, name, {
    from: ['running', 'paused'],
    to: 'cancelled',
    reason,
    by: 'user',
  });
}

const allowedFrom: Record<StatusChange['to'], string> = {
  paused: 'only a running job can be paused',
  running: 'only a paused job, or one failed by its alert or deadline, can be resumed',
  cancelled: 'only a running or paused job can be cancelled',
  failed: '',
};

async function control(store: Store, name: string, change: StatusChange): Promise<ControlResult> {
  const target = change.to;
  const row = await store.findJob(name);
  if (!row) throw new InputError(`No job named \`${name}\`; \`sluice status\` lists them`);
  if (row.status === target)
    return { job: name, previous: row.status, status: target, changed: false };
  const changed = await store.changeJobStatus(row.id, change);
  if (changed) return { job: name, previous: row.status, status: changed.status, changed: true };
  // Not in a status this change starts from (or it moved on meanwhile): say what it is now.
  const now = (await store.jobState(row.id))?.status ?? row.status;
  if (now === target) return { job: name, previous: now, status: now, changed: false };
  throw new InputError(`Job \`${name}\` is ${now}; ${allowedFrom[change.to]}`);
}

/** For `sluice run --resume`: resumes the job first when it is paused, and returns it fresh. */
export async function resumeIfPaused(
  store: Store,
  row: JobRow | undefined,
  resume: boolean | undefined,
): Promise<JobRow | undefined> {
  if (!row || !resume || row.status !== 'paused') return row;
  await resumeJob(store, row.name);
  return store.findJob(row.name);
}
