import type { Sql } from 'postgres';
import { recordSucceededChunks, type SucceededChunk } from '../store/outcomes.ts';
import { againIfDisconnected } from '../store/reconnect.ts';

interface Waiting {
  chunk: SucceededChunk;
  accepted: (ok: boolean) => void;
  failed: (error: unknown) => void;
}

/**
 * The next tasks, claimed in the same round trip as a batch of completions: the worker pool
 * takes them for the workers the batch frees.
 */
export interface ClaimWithBatch {
  /** How many tasks the workers finishing `finishing` completions, and any idle, can take next. */
  room(finishing: number): number;
  /**
   * Records the completions and claims up to `limit` tasks in one transaction; resolves with the
   * seqs it finished. Throws when the transaction failed: then it wrote and claimed nothing.
   */
  send(chunks: readonly SucceededChunk[], limit: number): Promise<Set<number>>;
}

/**
 * Gathers the completions of a process's chunks whose items all succeeded into one statement:
 * with no-op work, a commit per task was most of a one-item task's cost. A batch goes once every
 * running task not in a batch already sent is waiting in it, or `windowMs` after its first chunk.
 * A chunk counts as done only once the batch holding it committed, so nothing reported done is
 * lost to a crash; until then its claim is live and a crash hands it to another worker. With
 * `claimWith`, the batch also claims the tasks its workers run next, in the same round trip.
 */
export class CompletionBatch {
  private waiting: Waiting[] = [];
  private timer?: NodeJS.Timeout;
  /** Chunks in batches sent and not yet recorded. */
  private sending = 0;

  constructor(
    private readonly sql: Sql,
    private readonly jobId: string,
    /** Tasks this process is running now, those waiting here included. */
    private readonly running: () => number,
    private readonly claimWith?: ClaimWithBatch,
    private readonly windowMs = 2,
  ) {}

  /** Resolves true once the chunk is recorded, false when its claim was stale. */
  record(chunk: SucceededChunk): Promise<boolean> {
    return new Promise((accepted, failed) => {
      this.waiting.push({ chunk, accepted, failed });
      if (this.full()) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.windowMs);
    });
  }

  /**
   * A batch goes once no other running task could join it: those not waiting here are in batches
   * sent already. (Sending at half, so that two batches overlap on the server, halved one-item
   * throughput: bench:throughput, 900 against 1,600 items/s.)
   */
  private full(): boolean {
    return this.waiting.length >= this.running() - this.sending;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length === 0) return;
    const chunks = batch.map((w) => w.chunk);
    this.sending += batch.length;
    this.write(chunks)
      .finally(() => {
        this.sending -= batch.length;
      })
      .then(
        (finished) => {
          for (const w of batch) w.accepted(finished.has(w.chunk.claim.seq));
        },
        (error: unknown) => {
          for (const w of batch) w.failed(error);
        },
      );
  }

  private async write(chunks: readonly SucceededChunk[]): Promise<Set<number>> {
    // Fenced by each claim's epoch, so as safe to send again after a lost connection or a
    // deadlock (a lease renewal locking this process's running tasks in another order).
    const again = () =>
      againIfDisconnected(() =>
        againIfDeadlocked(() => recordSucceededChunks(this.sql, this.jobId, chunks)),
      );
    const limit = this.claimWith?.room(chunks.length) ?? 0;
    if (!this.claimWith || limit === 0) return again();
    // A failed transaction wrote nothing: its completions go again on their own.
    return this.claimWith.send(chunks, limit).catch(() => again());
  }
}

async function againIfDeadlocked<T>(write: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await write();
    } catch (error) {
      if (tries >= 3 || (error as { code?: string })?.code !== '40P01') throw error;
    }
  }
}
