import type { Context, Span } from '@opentelemetry/api';
import { redactSecrets } from '../store/redact.ts';

/** The tracer's name: a user's SDK can select sluice's spans by it. */
export const tracerName = 'sluice';

/**
 * How an attempt ended. `done`: recorded; `stale`: it finished after its claim was lost, and its
 * result was refused; `retrying`: it failed and goes back to the queue after a backoff; `failed`:
 * it failed for good; `released`: it was stopped (Ctrl-C, a pause, an abort) and goes back
 * untouched; `unrecorded`: its end could not be recorded (the database went away).
 */
export type AttemptOutcome = 'done' | 'stale' | 'retrying' | 'failed' | 'released' | 'unrecorded';

/** One task attempt's span; with no OpenTelemetry SDK registered, every call is a no-op. */
export interface AttemptSpan {
  /** Runs the job's function with this span as the active one, so the user's own spans nest in it. */
  within<T>(fn: () => T): T;
  /** Ends the span, once: later calls do nothing. An error sets its status and is recorded. */
  end(outcome: AttemptOutcome, details?: { error?: Error; itemsFailed?: number }): void;
}

type Api = typeof import('@opentelemetry/api');
// Loaded on the first attempt, not at CLI start-up: the api takes ~18 ms to import.
let loading: Promise<Api> | undefined;

/**
 * Starts the span of one task attempt, named `sluice.task`, with the attributes `sluice.job`,
 * `sluice.task` (its seq), `sluice.attempt` and `sluice.items`; its end adds `sluice.outcome`,
 * and `sluice.error` and `sluice.items.failed` when there are any. It goes through
 * `@opentelemetry/api`, so it is recorded only when the user registered an SDK.
 */
export async function startAttemptSpan(attempt: {
  job: string;
  seq: number;
  attempt: number;
  items: number;
}): Promise<AttemptSpan> {
  loading ??= import('@opentelemetry/api');
  const api = await loading;
  const span = api.trace.getTracer(tracerName).startSpan('sluice.task', {
    kind: api.SpanKind.INTERNAL,
    attributes: {
      'sluice.job': attempt.job,
      'sluice.task': attempt.seq,
      'sluice.attempt': attempt.attempt,
      'sluice.items': attempt.items,
    },
  });
  const active: Context = api.trace.setSpan(api.context.active(), span);
  let ended = false;
  return {
    within: (fn) => api.context.with(active, fn),
    end(outcome, details = {}) {
      if (ended) return;
      ended = true;
      finish(api, span, outcome, details);
    },
  };
}

function finish(
  api: Api,
  span: Span,
  outcome: AttemptOutcome,
  { error, itemsFailed }: { error?: Error; itemsFailed?: number },
): void {
  span.setAttribute('sluice.outcome', outcome);
  if (itemsFailed !== undefined) span.setAttribute('sluice.items.failed', itemsFailed);
  if (error) {
    // The error a task threw is already redacted; this covers one that came from anywhere else.
    const message = redactSecrets(error.message);
    span.setAttribute('sluice.error', message);
    span.recordException({
      name: error.name,
      message,
      stack: error.stack === undefined ? undefined : redactSecrets(error.stack),
    });
    span.setStatus({ code: api.SpanStatusCode.ERROR, message });
  }
  span.end();
}

/**
 * Exports the spans an SDK still holds (a BatchSpanProcessor's buffer), for a process about to
 * exit: the CLI ends with process.exit, which would drop them. Waits `timeoutMs` at most, and
 * does nothing when no attempt ran or no SDK is registered.
 */
export async function flushSpans(timeoutMs = 5000): Promise<void> {
  if (!loading) return;
  const { trace, ProxyTracerProvider } = await loading;
  const registered = trace.getTracerProvider();
  const provider =
    registered instanceof ProxyTracerProvider ? registered.getDelegate() : registered;
  const flush = (provider as { forceFlush?: () => Promise<unknown> }).forceFlush;
  if (typeof flush !== 'function') return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((done) => {
    timer = setTimeout(done, timeoutMs);
  });
  await Promise.race([flush.call(provider).catch(() => {}), late]);
  clearTimeout(timer);
}
