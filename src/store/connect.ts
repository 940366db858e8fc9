import postgres, { type Sql } from 'postgres';
import { InputError } from '../errors.ts';
import { redactSecrets, redactUrl } from './redact.ts';

export interface ConnectOptions {
  /** Most connections the pool opens. */
  max: number;
  /** Shown in pg_stat_activity, so an operator can tell sluice's connections apart. */
  purpose: string;
}

/**
 * Opens a postgres.js pool. Connections open lazily, on the first query. A URL postgres.js cannot
 * parse is refused as bad input, with its password hidden.
 */
export function openPool(url: string, options: ConnectOptions): Sql {
  try {
    return postgres(url, {
      max: options.max,
      onnotice: () => {},
      idle_timeout: 30,
      connect_timeout: 10,
      connection: { application_name: `sluice:${options.purpose}:${process.pid}` },
    });
  } catch (error) {
    throw invalidUrl(url, 'The database URL', error);
  }
}

/**
 * Refuses a URL postgres.js cannot parse, naming where it came from (`--database-url`,
 * `DATABASE_URL`), before anything is opened or written. It opens no connection.
 */
export function checkDatabaseUrl(url: string, origin: string): void {
  try {
    // postgres.js parses the URL when the pool is made (multi-host URLs included), and connects
    // only on the first query: making one and ending it checks exactly what it will accept.
    void postgres(url, { max: 1 }).end();
  } catch (error) {
    throw invalidUrl(url, `\`${origin}\``, error);
  }
}

function invalidUrl(url: string, what: string, error: unknown): InputError {
  const shown = redactUrl(url);
  if (error instanceof URIError) {
    return new InputError(
      `${what} has a bad percent escape: ${shown}; write a literal % in a password as %25`,
    );
  }
  return new InputError(`${what} is not a valid URL (check its host and port): ${shown}`);
}

// PostgreSQL answers 57P03 while it starts up; the embedded server may be doing just that.
const startingUp = new Set(['57P03', 'ECONNREFUSED']);

// postgres.js's connect_timeout (10 s) ends only a connection that never gets ready. A server
// that is not PostgreSQL and closes each connection (an HTTP server answering 400) has the pool
// reconnect forever, so the first query would wait forever. 15 s is past connect_timeout, so a
// server that accepts and stays silent still gets postgres.js's own CONNECT_TIMEOUT first.
export const reachDeadlineMs = 15_000;

/**
 * Runs one query to prove the database is reachable, waiting out a server that is still starting.
 * Throws one clear InputError line, with the password hidden, when it cannot be reached. Past
 * `reachDeadlineMs` (after the wait for a starting server) it ends the pool, whose connection
 * would otherwise go on reconnecting, and gives up.
 */
export async function checkReachable(sql: Sql, url: string, waitMs = 0): Promise<void> {
  const deadline = Date.now() + waitMs;
  const giveUpAt = deadline + reachDeadlineMs;
  for (;;) {
    let answered: boolean;
    try {
      answered = await answersBy(sql, giveUpAt);
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (startingUp.has(code) && Date.now() < deadline) {
        await new Promise((done) => setTimeout(done, 100));
        continue;
      }
      const reason = redactSecrets((error as Error).message || code);
      throw new InputError(`Cannot reach the database at ${redactUrl(url)}: ${reason}`);
    }
    if (answered) return;
    await sql.end({ timeout: 0 });
    throw new InputError(
      `Cannot reach the database at ${redactUrl(url)}: no PostgreSQL answer within ${reachDeadlineMs / 1000} s; is it a PostgreSQL server?`,
    );
  }
}

/** Whether `select 1` answered before `giveUpAt`; rejects with the query's error if it failed sooner. */
async function answersBy(sql: Sql, giveUpAt: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((done) => {
    timer = setTimeout(done, Math.max(0, giveUpAt - Date.now()), false);
  });
  try {
    // A late query fails once the pool is ended; the race has already handled its rejection.
    return await Promise.race([sql`select 1`.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
