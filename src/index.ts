// The public API. Each name is listed on purpose; internals stay internal.

export {
  InputError,
  PermanentError,
  RateLimitedError,
  retryAfterMs,
  SchemaVersionError,
  SluiceError,
  throwIfThrottled,
  toError,
} from './errors.ts';
export { defineJob } from './job/defineJob.ts';
export type { Outcome } from './job/outcome.ts';
export { failed, succeeded } from './job/outcome.ts';
export type {
  Job,
  JobOptions,
  PlanContext,
  PlannedTask,
  RetryOptions,
  Source,
  TaskContext,
  TaskLog,
} from './job/types.ts';
export type { PacingOptions, Permit, RateLimiter, RateLimitOptions } from './limit/types.ts';
export type { ParallelMap } from './map/mapRun.ts';
export { parallelMap } from './map/parallelMap.ts';
export { ParallelMapError } from './map/parallelMapError.ts';
export type {
  MapContext,
  MapFailure,
  MapFunction,
  MapInputs,
  MapOutcome,
  MapRateLimit,
  MapSuccess,
  ParallelMapOptions,
} from './map/types.ts';
export type { ProgressSnapshot, SluiceEvents } from './observe/events.ts';
export { Events } from './observe/events.ts';
export type { RunStatus, RunSummary } from './observe/summary.ts';
export { summaryLine } from './observe/summary.ts';
export type { ChunkInput } from './plan/chunks.ts';
export { chunks } from './plan/chunks.ts';
export type { FileFormat, FileInput } from './plan/fileItems.ts';
export { fromFile } from './plan/fileItems.ts';
export type { TableRange, TableRangesOptions } from './plan/tableRanges.ts';
export { tableRanges } from './plan/tableRanges.ts';
export type { RunOptions } from './run/runJob.ts';
export { runJob } from './run/runJob.ts';
export { smokeTest } from './run/smoke.ts';
export type { UpsertOptions } from './sink/upsert.ts';
export { upsert } from './sink/upsert.ts';
export { startEmbedded } from './store/embedded.ts';
export { Store } from './store/index.ts';
