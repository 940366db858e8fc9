// The dashboard bench's own database on the bench's server, dropped at the end so a shared server
// keeps nothing.
import postgres, { type Sql } from 'postgres';
import { quoteIdent } from '../../src/plan/identifiers.ts';

const databaseName = 'sluice_bench_dashboard';

export function connect(
  url: string,
  options: { debug?: (connection: number, query: string, params: unknown[]) => void } = {},
): Sql {
  return postgres(url, {
    max: 1,
    onnotice: () => {},
    connect_timeout: 10,
    idle_timeout: 0,
    ...options,
  });
}

async function onServer(serverUrl: string, statement: string): Promise<void> {
  const admin = connect(serverUrl);
  try {
    await admin.unsafe(statement);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/** Creates the bench's database (dropping one a crashed run left) and returns its URL. */
export async function createScratchDatabase(serverUrl: string): Promise<string> {
  await onServer(serverUrl, `drop database if exists ${quoteIdent(databaseName)} with (force)`);
  await onServer(serverUrl, `create database ${quoteIdent(databaseName)}`);
  const url = new URL(serverUrl);
  url.pathname = `/${databaseName}`;
  return url.toString();
}

export const dropScratchDatabase = (serverUrl: string) =>
  onServer(serverUrl, `drop database if exists ${quoteIdent(databaseName)} with (force)`);
