import type { JobStatus } from '../store/jobs.ts';

/** What the dashboard shows, whatever store query it came from: the views know only these. */

/** One row of the jobs list. */
export interface JobSummary {
  name: string;
  status: JobStatus;
  /** Why it is paused, cancelled, or failed by its alert or deadline. */
  statusReason: string | null;
  /** What its items are called (`rows`, `items`). */
  unit: string;
  totalItems: number;
  doneItems: number;
  failedItems: number;
  /** Items finished per second lately; undefined until it can be told. */
  ratePerSecond: number | undefined;
  /** Seconds left at that rate; undefined when unknown or finished. */
  etaSeconds: number | undefined;
  startedAt: Date;
  finishedAt: Date | null;
  maxParallelism: number;
  /** Processes working on it now. */
  processes: number;
}

export interface ThroughputPoint {
  at: Date;
  itemsPerSecond: number;
  failuresPerSecond: number;
}

export interface TaskStates {
  pending: number;
  running: number;
  done: number;
  failed: number;
}

export interface RunningTask {
  seq: number;
  host: string | null;
  pid: number | null;
  since: Date | null;
  attempt: number;
}

export interface FailedTask {
  seq: number;
  attempts: number;
  error: string | null;
  stack: string | null;
}

export interface DeadLetterRow {
  key: string;
  error: string;
  attempts: number;
  lastFailedAt: Date;
}

/** Failures with the same error once numbers, ids and quoted values are masked. */
export interface FailureGroup {
  message: string;
  count: number;
  sampleKeys: string[];
}

export interface WorkerProcess {
  /** Unknown for a process that registered before the store kept hosts. */
  host: string | null;
  pid: number | null;
  startedAt: Date | null;
  lastSeenAt: Date | null;
  /** False once its lock is gone: its tasks are about to be reclaimed. */
  alive: boolean;
  tasksHeld: number;
}

export interface JobDetail {
  summary: JobSummary;
  source: string;
  tasks: TaskStates;
  throughput: ThroughputPoint[];
  running: RunningTask[];
  failed: FailedTask[];
  deadLetters: { total: number; letters: DeadLetterRow[] };
  failureGroups: FailureGroup[];
  processes: WorkerProcess[];
}

/** An outcome or dead letter whose key or error matched a search. */
export interface SearchHit {
  kind: 'outcome' | 'dead letter';
  key: string;
  ok: boolean;
  error: string | null;
  at: Date | null;
}

/** The payload of one dead letter, shown on demand. */
export interface DeadLetterPayload {
  key: string;
  payload: unknown;
  error: string;
  stack: string | null;
  attempts: number;
}

/** Everything the dashboard reads, in the shapes above. */
export interface DashboardReader {
  jobs(): Promise<JobSummary[]>;
  job(name: string): Promise<JobDetail | undefined>;
  deadLetter(job: string, key: string): Promise<DeadLetterPayload | undefined>;
  search(job: string, text: string): Promise<SearchHit[] | undefined>;
}
