import postgres from 'postgres';
import { expect, test } from 'vitest';
import { createTestDatabase } from '../support/db.ts';

test('a test database is reachable', async () => {
  const db = await createTestDatabase();
  const sql = postgres(db.url, { max: 1 });
  const [row] = await sql`select current_database() as name`;
  expect(row?.name).toMatch(/^sluice_t_/);
  await sql.end();
  await db.drop();
});
