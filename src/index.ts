// The public API. Each name is listed on purpose; internals stay internal.

export type { DashboardHandler, DashboardOptions } from './dashboard/createDashboard.ts';
export { createDashboard } from './dashboard/createDashboard.ts';
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
export { loadJob } from './job/loadJob.ts';
export type { Outcome } from './job/outcome.ts';
export { failed, succeeded } from './job/outcome.ts';
export type { ChildResult, FanOutChild, Pipeline, Stage } from './job/taskGraph.ts';
export { pipeline, stage } from './job/taskGraph.ts';
export type {
  ExecutorOptions,
  FeedBatch,
  Job,
  JobOptions,
  KeyOf,
  PartialOf,
  PlanContext,
  PlannedTask,
  RetryOptions,
  RetryPolicy,
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
export type { AlertAction, AlertMetrics, AlertOptions } from './observe/alert.ts';
export type { ProgressSnapshot, SluiceEvents } from './observe/events.ts';
export { Events } from './observe/events.ts';
export type { EventLogger } from './observe/log/jsonLogger.ts';
export type { LogEventsOptions } from './observe/log/logEvents.ts';
export { logEvents } from './observe/log/logEvents.ts';
export type { Metrics, MetricsOptions } from './observe/metrics/createMetrics.ts';
export { createMetrics } from './observe/metrics/createMetrics.ts';
export { metricsHandler } from './observe/metrics/handler.ts';
export type { MetricsServer, MetricsServerOptions } from './observe/metrics/server.ts';
export { startMetricsServer } from './observe/metrics/server.ts';
export type { RunStatus, RunSummary } from './observe/summary.ts';
export { summaryLine } from './observe/summary.ts';
export type { AttemptOutcome } from './observe/trace.ts';
export { tracerName } from './observe/trace.ts';
export type { ChunkInput } from './plan/chunks.ts';
export { chunks } from './plan/chunks.ts';
export type { CursorChunk, CursorOptions } from './plan/cursor.ts';
export { cursor } from './plan/cursor.ts';
export type { FileFormat, FileInput } from './plan/fileItems.ts';
export { fromFile } from './plan/fileItems.ts';
export type { MicroBatchOptions, MicroBatchStream } from './plan/microBatch.ts';
export { microBatch } from './plan/microBatch.ts';
export type { TableBlock, TableBlocksOptions } from './plan/tableBlocks.ts';
export { tableBlocks } from './plan/tableBlocks.ts';
export type { TableRange, TableRangesOptions } from './plan/tableRanges.ts';
export { tableRanges } from './plan/tableRanges.ts';
export { JobStoppedError } from './run/controlSignals.ts';
export type { ControlResult } from './run/jobControl.ts';
export { cancelJob, pauseJob, resumeJob } from './run/jobControl.ts';
export type { JoinOptions } from './run/joinJob.ts';
export { joinJob } from './run/joinJob.ts';
export type { RunOptions } from './run/runJob.ts';
export { runJob } from './run/runJob.ts';
export { smokeTest } from './run/smoke.ts';
export { TaskTimeoutError } from './run/taskTimeout.ts';
export type { WatchOptions } from './run/watchJob.ts';
export { watchJob } from './run/watchJob.ts';
export type { UpsertOptions } from './sink/upsert.ts';
export { upsert } from './sink/upsert.ts';
export type { DeadLetter } from './store/deadLetters.ts';
export { startEmbedded } from './store/embedded.ts';
export { Store } from './store/index.ts';
