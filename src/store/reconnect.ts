// A pooled connection whose server session died (a partition, a restarted server) fails only the
// first query sent on it; postgres.js opens a fresh connection for the next one.
const connectionLost = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  '57P01', // admin_shutdown: the server ended this session
  '57P03', // cannot_connect_now: the server is shutting down or starting up
  '08006', // connection_failure
]);

export function isConnectionLoss(error: unknown): boolean {
  return connectionLost.has((error as { code?: string })?.code ?? '');
}

// Once a run is under way these mean the server went away, not that the URL was wrong: the URL
// was checked at start.
const serverGone = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'CONNECT_TIMEOUT',
]);

/** Whether an error that ended a command means the database went out of reach. */
export function isDatabaseGone(error: unknown): boolean {
  if (isConnectionLoss(error)) return true;
  if (serverGone.has((error as { code?: string })?.code ?? '')) return true;
  return isStrayDriverError(error);
}

/**
 * postgres.js can throw outside any query when a query is sent on a reserved connection that has
 * already closed (it writes to a socket it has cleared: porsager/postgres#1154, #1208). That
 * TypeError names the driver's own file. The query itself never settles; whoever sent it has
 * its own way out (a task is aborted with its run), so the error says nothing more.
 */
export function isStrayDriverError(error: unknown): boolean {
  return (
    error instanceof TypeError && /[/\\]postgres[/\\]src[/\\]connection\.js/.test(error.stack ?? '')
  );
}

/**
 * Runs a write again, up to twice more, when its connection turns out to be dead. Only for
 * writes fenced by the claim's epoch: if an earlier try did land, the next is refused rather than
 * applied twice. A worker back from a partition then learns that its late result was refused,
 * instead of dying with the error of a connection it could not know was gone.
 */
export async function againIfDisconnected<T>(write: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await write();
    } catch (error) {
      if (tries >= 3 || !isConnectionLoss(error)) throw error;
    }
  }
}

/**
 * Warns about a background read or write that failed, unless the database went away: that is the
 * run's to report (it waits for the database, or ends with one line).
 */
export function warnUnlessGone(what: string, error: unknown): void {
  if (isDatabaseGone(error)) return;
  process.emitWarning(`sluice: ${what}: ${(error as Error)?.message ?? String(error)}`);
}
