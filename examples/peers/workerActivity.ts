/** What the site saw of one worker: its `X-Worker` header, or else its connection. */
export interface WorkerStats {
  requests: number;
  maxInFlight: number;
  /** Smallest gap between the arrivals of two consecutive requests; Infinity (JSON null) if < 2. */
  minGapMs: number;
  /** From its first arrival to its last: a pace that one late arrival cannot skew. */
  spanMs: number;
}

interface LiveWorker extends WorkerStats {
  inFlight: number;
  firstAt: number;
  lastAt: number;
}

export interface Arrival {
  /** Time since this worker's previous request arrived; Infinity for its first. */
  gapMs: number;
  /** Requests in progress from everyone, this one included. */
  inFlight: number;
  /** Ends this request's share of the in-flight counts; calling it again does nothing. */
  release(): void;
}

/**
 * Per-worker pacing and concurrency, as the server sees it: the evidence a test needs to prove a
 * client kept its worker cap and its spacing.
 */
export class WorkerActivity {
  private readonly workers = new Map<string, LiveWorker>();
  private inFlight = 0;
  private mostInFlight = 0;

  arrive(name: string, at: number): Arrival {
    let worker = this.workers.get(name);
    if (!worker) {
      worker = {
        ...{ requests: 0, maxInFlight: 0, minGapMs: Infinity, spanMs: 0 },
        ...{ inFlight: 0, firstAt: at, lastAt: -Infinity },
      };
      this.workers.set(name, worker);
    }
    const gapMs = at - worker.lastAt;
    worker.lastAt = at;
    worker.spanMs = at - worker.firstAt;
    worker.minGapMs = Math.min(worker.minGapMs, gapMs);
    worker.requests += 1;
    worker.inFlight += 1;
    worker.maxInFlight = Math.max(worker.maxInFlight, worker.inFlight);
    this.inFlight += 1;
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);

    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.inFlight -= 1;
      (worker as LiveWorker).inFlight -= 1;
    };
    return { gapMs, inFlight: this.inFlight, release };
  }

  stats() {
    const workers = Object.fromEntries(
      [...this.workers].map(([name, { requests, maxInFlight, minGapMs, spanMs }]) => {
        return [name, { requests, maxInFlight, minGapMs, spanMs } satisfies WorkerStats];
      }),
    );
    const all = Object.values(workers);
    return {
      maxInFlight: this.mostInFlight,
      maxInFlightPerWorker: Math.max(0, ...all.map((worker) => worker.maxInFlight)),
      minGapMs: Math.min(Infinity, ...all.map((worker) => worker.minGapMs)),
      workers,
    };
  }
}
