import type { Sql } from 'postgres';
import { recordSucceededChunks, type SucceededChunk } from '../store/outcomes.ts';
import { againIfDisconnected } from '../store/reconnect.ts';

interface Waiting {
  chunk: SucceededChunk;
  accepted: (ok: boolean) => void;
  failed: (error: unknown) => void;
}

/**
 * Gathers the completions of a process's chunks whose items all succeeded into one statement:
 * with no-op work, a commit per task was most of a one-item task's cost. A batch goes once every
 * running task is waiting in it (nothing else could join), or `windowMs` after its first chunk.
 * A chunk counts as done only once the batch holding it committed, so nothing reported done is
 * lost to a crash; until then its claim is live and a crash hands it to another worker.
 */
export class CompletionBatch {
  private waiting: Waiting[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly sql: Sql,
    private readonly jobId: string,
    /** Tasks this process is running now, those waiting here included. */
    private readonly running: () => number,
    private readonly windowMs = 2,
  ) {}

  /** Resolves true once the chunk is recorded, false when its claim was stale. */
  record(chunk: SucceededChunk): Promise<boolean> {
    return new Promise((accepted, failed) => {
      this.waiting.push({ chunk, accepted, failed });
      if (this.waiting.length >= this.running()) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.windowMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length === 0) return;
    const chunks = batch.map((w) => w.chunk);
    // Fenced by each claim's epoch, so as safe to send again after a lost connection or a
    // deadlock (a lease renewal locking this process's running tasks in another order).
    againIfDisconnected(() =>
      againIfDeadlocked(() => recordSucceededChunks(this.sql, this.jobId, chunks)),
    ).then(
      (finished) => {
        for (const w of batch) w.accepted(finished.has(w.chunk.claim.seq));
      },
      (error: unknown) => {
        for (const w of batch) w.failed(error);
      },
    );
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
