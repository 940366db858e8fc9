// One OpenTelemetry span per task attempt, through @opentelemetry/api: recorded by an SDK the user
// registers (here the in-memory exporter), a no-op without one.
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Context,
  type ContextManager,
  context,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  chunks,
  defineJob,
  failed,
  PermanentError,
  runJob,
  Store,
  succeeded,
  tracerName,
} from '../../src/index.ts';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase();
let store: Store;
beforeAll(async () => {
  store = await Store.open(db.url);
});
afterAll(async () => {
  trace.disable();
  context.disable();
  await store.close();
});

/** The user's own spans, made inside the job's function, and whether a span was active there. */
const seen: { activeSpan: boolean }[] = [];

/**
 * Six numbers in chunks of two. Chunk [1, 2] fails item 2; chunk [3, 4] throws on its first
 * attempt and is retried; chunk [5, 6] throws for good, with a password in its error. Each attempt
 * makes a span of the user's own.
 */
const job = (name: string) =>
  defineJob({
    name,
    source: chunks([1, 2, 3, 4, 5, 6], 2),
    maxParallelism: 2,
    retry: { attempts: 2, baseMs: 0, maxMs: 0 },
    async run(items, { attempt }) {
      seen.push({ activeSpan: trace.getActiveSpan() !== undefined });
      trace.getTracer('user').startSpan('user.work').end();
      if (items.includes(3) && attempt === 1) throw new Error('chunk 3 hiccuped');
      if (items.includes(5))
        throw new PermanentError('chunk 5 cannot reach postgres://app:hunter2@db.internal/shop');
      return items.map((n) => (n === 2 ? failed(n, new Error('item 2 is missing')) : succeeded(n)));
    },
  });

test('without an SDK registered, a run with retries and failures goes as ever (the api is a no-op)', async () => {
  const summary = await runJob(job('untraced'), { sourceUrl: db.url, store });
  expect(summary).toMatchObject({ status: 'failed', done: 3, failed: 3 });
  expect(summary.tasks).toEqual({ total: 3, done: 2, failed: 1 });
  // Four attempts, none with an active span: nothing records one.
  expect(seen).toEqual(Array.from({ length: 4 }, () => ({ activeSpan: false })));
});

/** The AsyncLocalStorage context manager an SDK's Node setup registers, in a few lines. */
function asyncContextManager(): ContextManager {
  const storage = new AsyncLocalStorage<Context>();
  const manager: ContextManager = {
    active: () => storage.getStore() ?? ROOT_CONTEXT,
    with: (ctx, fn, thisArg, ...args) => storage.run(ctx, () => fn.apply(thisArg, args)),
    bind: (_ctx, target) => target,
    enable: () => manager,
    disable: () => {
      storage.disable();
      return manager;
    },
  };
  return manager;
}

const attr = (span: ReadableSpan, name: string) => span.attributes[`sluice.${name}`];

test('with an SDK: one span per attempt (a retried task has two), with its attributes; errors set the status, redacted', async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  expect(trace.setGlobalTracerProvider(provider)).toBe(true);
  expect(context.setGlobalContextManager(asyncContextManager())).toBe(true);
  seen.length = 0;

  await runJob(job('traced'), { sourceUrl: db.url, store });
  await provider.forceFlush();
  const all = exporter.getFinishedSpans();
  const attempts = all
    .filter((span) => span.name === 'sluice.task')
    .sort(
      (a, b) =>
        Number(attr(a, 'task')) - Number(attr(b, 'task')) ||
        Number(attr(a, 'attempt')) - Number(attr(b, 'attempt')),
    );
  expect(
    attempts.map((span) => [attr(span, 'task'), attr(span, 'attempt'), attr(span, 'outcome')]),
  ).toEqual([
    [0, 1, 'done'],
    [1, 1, 'retrying'],
    [1, 2, 'done'],
    [2, 1, 'failed'],
  ]);
  for (const span of attempts) {
    expect(span.instrumentationScope.name).toBe(tracerName);
    expect(attr(span, 'job')).toBe('traced');
    expect(attr(span, 'items')).toBe(2);
  }
  const [first, retried, second, broken] = attempts as [
    ReadableSpan,
    ReadableSpan,
    ReadableSpan,
    ReadableSpan,
  ];
  // A done chunk with a failed item: the attempt itself succeeded.
  expect(attr(first, 'items.failed')).toBe(1);
  expect(first.status.code).toBe(SpanStatusCode.UNSET);
  expect(second.status.code).toBe(SpanStatusCode.UNSET);
  expect(attr(second, 'items.failed')).toBe(0);

  expect(retried.status).toEqual({ code: SpanStatusCode.ERROR, message: 'chunk 3 hiccuped' });
  expect(attr(retried, 'error')).toBe('chunk 3 hiccuped');
  expect(retried.events.map((event) => event.name)).toEqual(['exception']);
  expect(retried.events[0]?.attributes?.['exception.message']).toBe('chunk 3 hiccuped');

  const redacted = 'chunk 5 cannot reach postgres://app:***@db.internal/shop';
  expect(broken.status).toEqual({ code: SpanStatusCode.ERROR, message: redacted });
  expect(attr(broken, 'error')).toBe(redacted);
  expect(broken.events[0]?.attributes).toMatchObject({
    'exception.type': 'PermanentError',
    'exception.message': redacted,
  });
  expect(JSON.stringify(broken.events)).not.toContain('hunter2');

  // The job's function ran inside its attempt's span: the user's spans are its children.
  expect(seen).toEqual(Array.from({ length: 4 }, () => ({ activeSpan: true })));
  const userSpans = all.filter((span) => span.name === 'user.work');
  expect(userSpans.map((span) => span.parentSpanContext?.spanId).sort()).toEqual(
    attempts.map((span) => span.spanContext().spanId).sort(),
  );
});

test('a CLI run flushes its spans before it exits, to an SDK registered with --import', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-spans-')), 'spans.jsonl');
  const register = fileURLToPath(new URL('./spansToFile.mjs', import.meta.url));
  const run = await runSluice(['run', 'test/observe/loggedJob.ts', '--database-url', db.url], {
    JOB_NAME: 'traced-cli',
    NODE_OPTIONS: `--import ${register}`,
    SPANS_FILE: file,
  });
  expect(run.code, run.stderr).toBe(3);
  // The processor would hold them for a minute: only the flush at exit writes them.
  const spans = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const outcomes = spans.map((span) => span.attributes['sluice.outcome']).sort();
  expect(outcomes).toEqual(['done', 'done', 'done', 'failed', 'retrying']);
  expect(spans.every((span) => span.attributes['sluice.job'] === 'traced-cli')).toBe(true);
});
