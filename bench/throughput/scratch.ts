// Each cell of the throughput bench runs in a database of its own, created before and dropped
// after, so no system sees another's rows, dead tuples or indexes.
import postgres, { type Sql } from 'postgres';
import { quoteIdent } from '../../src/plan/identifiers.ts';

export function connect(url: string, max = 1): Sql {
  return postgres(url, { max, onnotice: () => {}, connect_timeout: 10, idle_timeout: 0 });
}

/** Runs `use` with the URL of a fresh database on the server, dropped afterwards. */
export async function withScratchDatabase<T>(
  serverUrl: string,
  name: string,
  use: (url: string) => Promise<T>,
): Promise<T> {
  const admin = connect(serverUrl);
  const database = quoteIdent(name);
  try {
    await admin.unsafe(`drop database if exists ${database} with (force)`);
    await admin.unsafe(`create database ${database}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return await use(url.toString());
  } finally {
    await admin.unsafe(`drop database if exists ${database} with (force)`).catch(() => {});
    await admin.end({ timeout: 5 });
  }
}
