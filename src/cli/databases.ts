import type { Sql } from 'postgres';
import { checkDatabaseUrl, openPool } from '../store/connect.ts';
import { type EmbeddedServer, startEmbedded } from '../store/embedded.ts';
import { Store } from '../store/index.ts';

/** What `--database-url` and `--state-url` (flags.ts) parse to. */
export interface DatabaseFlags {
  databaseUrl?: string;
  stateUrl?: string;
}

export interface Databases {
  sourceUrl: string;
  stateUrl: string;
  store: Store;
  close(): Promise<void>;
}

/** Where the embedded server keeps its data when no database is given: resume works across runs. */
export const embeddedHome = '.sluice';

/**
 * Resolves the source and state databases from the flags and DATABASE_URL, starting the embedded
 * server when neither names one, and opens the state store. With `create: false` (a command that
 * only reads) a database without schema `sluice` is left so, and the store says it is `fresh`.
 * `concurrency`, for a command that runs tasks, is how many it runs at once: the store's pool
 * follows it.
 */
export async function openDatabases(
  flags: DatabaseFlags,
  options: { create?: boolean; concurrency?: number } = {},
): Promise<Databases> {
  // Both URLs are checked before either database is touched: the source one is first used only
  // after the state store has been migrated.
  let sourceUrl = givenUrl(flags.databaseUrl, '--database-url', 'DATABASE_URL');
  const givenState = givenUrl(flags.stateUrl, '--state-url', 'SLUICE_STATE_URL');
  let embedded: EmbeddedServer | undefined;
  if (!sourceUrl) {
    embedded = await startEmbedded(embeddedHome);
    sourceUrl = embedded.url;
  }
  const stateUrl = givenState ?? sourceUrl;
  try {
    const store = await Store.open(stateUrl, {
      waitMs: embedded ? 10_000 : 0,
      create: options.create,
      concurrency: options.concurrency,
    });
    return {
      sourceUrl,
      stateUrl,
      store,
      close: async () => {
        await store.close();
        if (embedded) await stopIfIdle(embedded);
      },
    };
  } catch (error) {
    if (embedded) await stopIfIdle(embedded);
    throw error;
  }
}

/** The URL in the flag, or else in the environment variable, refused if it cannot be parsed. */
function givenUrl(given: string | undefined, flag: string, variable: string): string | undefined {
  const url = given ?? process.env[variable];
  if (url) checkDatabaseUrl(url, given !== undefined ? flag : variable);
  return url;
}

/**
 * Stops the embedded server when no other client is connected, so the last sluice process out
 * turns it off and a concurrent run on the same data keeps its server.
 */
async function stopIfIdle(server: EmbeddedServer): Promise<void> {
  const sql: Sql = openPool(server.url, { max: 1, purpose: 'shutdown' });
  try {
    const [row] = await sql<{ others: number }[]>`
      select count(*)::int as others from pg_stat_activity
      where backend_type = 'client backend' and pid <> pg_backend_pid()`;
    await sql.end({ timeout: 1 });
    if (row?.others === 0) await server.stop();
  } catch {
    await sql.end({ timeout: 1 });
  }
}
