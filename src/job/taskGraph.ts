import { expected, InputError } from '../errors.ts';
import { optionNames, refuseUnknownOptions } from '../optionNames.ts';
import type { Job, TaskContext } from './types.ts';

// biome-ignore lint/suspicious/noExplicitAny: a stage's input and output types are the user's.
type Any = any;

/** One step of a pipeline: a durable task per batch, whose outputs feed the next stage. */
export interface Stage<In = Any, Out = Any> {
  readonly name: string;
  /**
   * Processes one batch. Every stage but the last returns an array of outputs, which becomes the
   * input of one task of the next stage; the last stage returns the task's report.
   */
  run(input: In, ctx: TaskContext<Any>): Out | Promise<Out>;
}

/** Stages run in order, each batch flowing on as soon as its stage finishes it. */
export interface Pipeline<Report = unknown> {
  readonly kind: 'sluice.pipeline';
  readonly stages: readonly Stage[];
  /** Carries the report type (the last stage's output); never set. */
  readonly report?: Report;
}

type LastOut<S> = S extends readonly [...unknown[], Stage<Any, infer Out>] ? Out : unknown;

/** A named pipeline stage. */
export function stage<In, Out>(
  name: string,
  run: (input: In, ctx: TaskContext<Any>) => Out | Promise<Out>,
): Stage<In, Out> {
  return { name, run };
}

const stageName = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const stageNames = optionNames<Stage>({ name: true, run: true });

/**
 * Builds a pipeline from stages (`stage(name, run)` or `{ name, run }`), in order. Stage names
 * must be unique: they name each task's stage in the store.
 */
export function pipeline<const S extends readonly Stage[]>(
  stages: S,
): Pipeline<Awaited<LastOut<S>>> {
  if (!Array.isArray(stages) || stages.length === 0)
    throw expected('stages', 'a non-empty array of stage(name, run)', stages);
  const seen = new Set<string>();
  stages.forEach((s: unknown, i) => {
    const candidate = s as Partial<Stage> | null;
    if (typeof candidate !== 'object' || candidate === null)
      throw expected(`stages[${i}]`, 'a stage: stage(name, run) or { name, run }', s);
    refuseUnknownOptions(candidate, stageNames, {
      where: 'pipeline([...])',
      path: `stages[${i}].`,
    });
    if (typeof candidate.name !== 'string' || !stageName.test(candidate.name))
      throw expected(
        `stages[${i}].name`,
        'letters, digits, `.`, `_`, `:` or `-` (1 to 64, starting with a letter or digit)',
        candidate.name,
      );
    if (typeof candidate.run !== 'function')
      throw expected(`stages[${i}].run`, 'a function', candidate.run);
    if (seen.has(candidate.name))
      throw new InputError(`Expected stage names to be unique, got \`${candidate.name}\` twice`);
    seen.add(candidate.name);
  });
  return { kind: 'sluice.pipeline', stages: stages.map((s) => ({ name: s.name, run: s.run })) };
}

/** A child task a fan-out parent emits: `kind` picks the job's handler, `input` is JSON. */
export interface FanOutChild {
  kind: string;
  input: unknown;
}

/** What a fan-in receives for each child, in the order the parent emitted them. */
export type ChildResult =
  | { kind: string; input: unknown; ok: true; report: unknown }
  | { kind: string; input: unknown; ok: false; error: string };

/** The task-graph options of a job: a pipeline, or a fan-out with its handlers and fan-in. */
export interface TaskGraphOptions {
  stages?: Pipeline<unknown> | readonly Stage[];
  fanOut?: unknown;
  handlers?: unknown;
  fanIn?: unknown;
}

/** Checks a job's `stages`, or its `fanOut`, `handlers` and `fanIn` together. */
export function validateTaskGraph(
  options: TaskGraphOptions,
): Pick<Job<Any, Any, Any, Any>, 'stages' | 'fanOut' | 'handlers' | 'fanIn'> {
  const { stages, fanOut, handlers, fanIn } = options;
  const fanning = [fanOut, handlers, fanIn].some((o) => o !== undefined);
  if (stages !== undefined) {
    if (fanning)
      throw new InputError('Expected a job to give either `stages` or `fanOut`/`fanIn`, not both');
    const list =
      (stages as Pipeline).kind === 'sluice.pipeline' ? (stages as Pipeline).stages : stages;
    return { stages: pipeline(list as readonly Stage[]).stages };
  }
  if (!fanning) return {};
  if (typeof fanOut !== 'function') throw expected('fanOut', 'a function', fanOut);
  if (typeof fanIn !== 'function') throw expected('fanIn', 'a function (with `fanOut`)', fanIn);
  const entries =
    typeof handlers === 'object' && handlers !== null ? Object.entries(handlers) : undefined;
  if (!entries || entries.length === 0)
    throw expected('handlers', 'an object of child kinds to functions (with `fanOut`)', handlers);
  for (const [kind, handler] of entries) {
    if (typeof handler !== 'function') throw expected(`handlers.${kind}`, 'a function', handler);
  }
  return {
    fanOut: fanOut as Job['fanOut'],
    handlers: handlers as Job['handlers'],
    fanIn: fanIn as Job['fanIn'],
  };
}

/** True for a job whose tasks create tasks: a pipeline or a fan-out. */
export function isTaskGraph(job: Pick<Job, 'stages' | 'fanOut'>): boolean {
  return job.stages !== undefined || job.fanOut !== undefined;
}
