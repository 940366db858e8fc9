import { SluiceError, toError } from '../errors.ts';
import type { RateLimitOptions } from '../limit/types.ts';
import { type CallPolicy, callWithPolicy } from './callWithPolicy.ts';
import { END, InputReader } from './inputReader.ts';
import type { MapSettings } from './options.ts';
import { DONE, OutcomeChannel } from './outcomeChannel.ts';
import { ParallelMapError } from './parallelMapError.ts';
import type { MapFunction, MapInputs, MapOutcome, ParallelMapDeps, SlotPacer } from './types.ts';

/**
 * The results of `parallelMap`: an async iterator of outcomes that starts work on the first
 * `next()` (or `toArray()`), and can be consumed once.
 *
 * There are no worker loops: an input is started when a slot frees up (a call settles) or room
 * appears for its outcome (the consumer takes one), so nothing parks on a promise, and a no-op item
 * costs one async call plus the consumer's `next()`.
 */
export class ParallelMap<I, O> implements AsyncIterableIterator<MapOutcome<I, O>, undefined> {
  private readonly controller = new AbortController();
  private readonly channel: OutcomeChannel<MapOutcome<I, O>>;
  private readonly policy: CallPolicy<I, O>;
  /** True when a call needs no pacing, permit or retry, so it takes the short path. */
  private readonly direct: boolean;
  private readonly makePacer: (() => SlotPacer) | undefined;
  private readonly idlePacers: SlotPacer[] = [];
  private reader: InputReader<I> | undefined;
  private taken = 0;
  private inFlight = 0;
  private started = false;
  private sourceDone = false;
  private stopped = false;
  private finished = false;
  private launching = false;
  private pulling = false;
  private closing: Promise<void> = Promise.resolve();

  constructor(
    fn: MapFunction<I, O>,
    private readonly inputs: MapInputs<I>,
    private readonly settings: MapSettings<I>,
    deps: Required<ParallelMapDeps>,
  ) {
    this.channel = new OutcomeChannel(settings.window, settings.ordered);
    const { rateLimit, pacing } = settings;
    // A limiter sets no timer until asked for a permit, so making it before any work is free.
    const limiter = rateLimit && deps.createRateLimiter(rateLimit as RateLimitOptions);
    const { sleep, random } = deps;
    this.policy = { fn, settings, signal: this.controller.signal, limiter, sleep, random };
    this.makePacer = pacing && (() => deps.createPacer(pacing));
    this.direct = settings.retry.attempts === 1 && !limiter && !pacing;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<MapOutcome<I, O>, undefined>> {
    if (!this.started) this.start();
    else if (this.channel.collecting) return Promise.reject(consumedTwice());
    const result = this.channel.next();
    this.launch();
    return result;
  }

  /** Called by `break` in `for await`: aborts in-flight calls and closes the inputs. */
  async return(): Promise<IteratorResult<MapOutcome<I, O>, undefined>> {
    this.stop(undefined, true);
    await this.closing;
    return DONE;
  }

  /** Runs everything and resolves with every outcome, in the order iteration would yield them. */
  toArray(): Promise<MapOutcome<I, O>[]> {
    if (this.started) return Promise.reject(consumedTwice());
    const all = this.channel.collect();
    this.start();
    return all;
  }

  private start(): void {
    this.started = true;
    const { signal } = this.settings;
    if (signal?.aborted) {
      this.stop(signal.reason, false);
      return;
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
    try {
      this.reader = new InputReader(this.inputs);
    } catch (thrown) {
      this.stop(thrown, false);
      return;
    }
    this.launch();
  }

  private readonly onAbort = (): void => this.stop(this.settings.signal?.reason, true);

  /** True while another input may start: a slot is free and there is room for its outcome. */
  private canTake(): boolean {
    return (
      !this.stopped &&
      !this.sourceDone &&
      this.inFlight < this.settings.maxParallelism &&
      this.taken - this.channel.consumed < this.settings.window
    );
  }

  private launch(): void {
    // A call that throws synchronously settles inside `run` and calls back here; the loop below
    // is already taking inputs, so the inner call has nothing to add.
    const reader = this.reader;
    if (this.launching || reader === undefined) return;
    this.launching = true;
    try {
      if (reader.isAsync) {
        if (!this.pulling && this.canTake()) void this.pull(reader);
      } else {
        while (this.canTake()) {
          const input = reader.nextSync();
          if (input === END) this.sourceDone = true;
          else this.run(this.taken++, input);
        }
      }
    } catch (thrown) {
      this.stop(thrown, false);
    } finally {
      this.launching = false;
    }
    if (!this.finished && !this.stopped && this.sourceDone && this.inFlight === 0) {
      this.finished = true;
      this.release();
      this.channel.end();
    }
  }

  /** Reads an async source one input at a time, and only while there is room to start it. */
  private async pull(reader: InputReader<I>): Promise<void> {
    this.pulling = true;
    try {
      while (this.canTake()) {
        const next = await reader.nextAsync();
        if (this.stopped) return;
        if (next.done) this.sourceDone = true;
        else this.run(this.taken++, next.value);
      }
    } catch (thrown) {
      this.stop(thrown, false);
      return;
    } finally {
      this.pulling = false;
    }
    this.launch();
  }

  private run(index: number, input: I): void {
    this.inFlight++;
    if (this.direct) void this.callDirect(index, input);
    else void this.callPaced(index, input);
  }

  private async callDirect(index: number, input: I): Promise<void> {
    let outcome: MapOutcome<I, O>;
    try {
      const ctx = { index, attempt: 1, signal: this.controller.signal, permit: undefined };
      outcome = { index, input, ok: true, value: await this.policy.fn(input, ctx) };
    } catch (thrown) {
      outcome = { index, input, ok: false, error: toError(thrown) };
    }
    this.settle(outcome);
  }

  private async callPaced(index: number, input: I): Promise<void> {
    let outcome: MapOutcome<I, O>;
    let pacer: SlotPacer | undefined;
    try {
      // One pacer per slot: a free slot's pacer is reused, so each slot spaces its own calls.
      pacer = this.makePacer && (this.idlePacers.pop() ?? this.makePacer());
      outcome = await callWithPolicy(this.policy, index, input, pacer);
    } catch (thrown) {
      outcome = { index, input, ok: false, error: toError(thrown) };
    }
    if (pacer !== undefined) this.idlePacers.push(pacer);
    this.settle(outcome);
  }

  private settle(outcome: MapOutcome<I, O>): void {
    this.inFlight--;
    if (this.stopped) return;
    if (!outcome.ok && this.settings.stopOnError) {
      this.stop(new ParallelMapError(outcome.index, outcome.error), true);
      return;
    }
    this.channel.push(outcome);
    this.launch();
  }

  /**
   * Ends the map early. `error` is what the consumer gets (undefined when the consumer itself
   * stopped); in-flight calls are aborted either way, so they can give up their sockets and sleeps.
   */
  private stop(error: unknown, closeSource: boolean): void {
    if (this.stopped || this.finished) return;
    this.stopped = true;
    this.controller.abort(error ?? closedReason());
    this.release();
    if (closeSource && this.reader !== undefined) {
      this.closing = this.reader.close(this.pulling);
      if (error !== undefined) this.closing.catch(() => {});
    }
    this.channel.fail(error);
  }

  /** Lets go of what the map holds outside itself: the caller's signal and the limiter's timer. */
  private release(): void {
    this.settings.signal?.removeEventListener('abort', this.onAbort);
    this.policy.limiter?.close();
  }
}

function closedReason(): DOMException {
  return new DOMException('parallelMap was closed before this call finished', 'AbortError');
}

function consumedTwice(): SluiceError {
  return new SluiceError('parallelMap results can be consumed once: by iterating or by toArray()');
}
