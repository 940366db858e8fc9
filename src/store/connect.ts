import postgres, { type Sql } from 'postgres';
import { InputError } from '../errors.ts';
import { redactSecrets, redactUrl } from './redact.ts';

export interface ConnectOptions {
  /** Most connections the pool opens. */
  max: number;
  /** Shown in pg_stat_activity, so an operator can tell sluice's connections apart. */
  purpose: string;
}

/** Opens a postgres.js pool. Connections open lazily, on the first query. */
export function openPool(url: string, options: ConnectOptions): Sql {
  return postgres(url, {
    max: options.max,
    onnotice: () => {},
    idle_timeout: 30,
    connect_timeout: 10,
    connection: { application_name: `sluice:${options.purpose}:${process.pid}` },
  });
}

// PostgreSQL answers 57P03 while it starts up; the embedded server may be doing just that.
const startingUp = new Set(['57P03', 'ECONNREFUSED']);

/**
 * Runs one query to prove the database is reachable, waiting out a server that is still starting.
 * Throws one clear InputError line, with the password hidden, when it cannot be reached.
 */
export async function checkReachable(sql: Sql, url: string, waitMs = 0): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await sql`select 1`;
      return;
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (startingUp.has(code) && Date.now() < deadline) {
        await new Promise((done) => setTimeout(done, 100));
        continue;
      }
      const reason = redactSecrets((error as Error).message || code);
      throw new InputError(`Cannot reach the database at ${redactUrl(url)}: ${reason}`);
    }
  }
}
