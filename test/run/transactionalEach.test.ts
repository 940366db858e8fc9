// `transactional` with `each`: every try of an item runs under a savepoint, so a failed try rolls
// back its own writes and the chunk goes on; the chunk's writes, outcomes and dead letters commit
// together with its completion.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { chunks, defineJob, PermanentError, runJob, Store } from '../../src/index.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase();
let store: Store;
beforeAll(async () => {
  store = await Store.open(db.url);
  await db.sql`create table applied (item int not null, attempt int not null)`;
});
afterAll(() => store.close());

const items = Array.from({ length: 20 }, (_, i) => i + 1);

test('a failed try of an item leaves none of its writes; items retried and items failed for good are each applied as their outcome says', async () => {
  const job = defineJob({
    name: 'tx-each',
    source: chunks(items, 5),
    transactional: true,
    retry: { attempts: 2, baseMs: 0, maxMs: 0 },
    async each(item, { sql, attempt }) {
      await sql`insert into applied (item, attempt) values (${item}, ${attempt})`;
      // Item 3 fails once after writing, then succeeds; 7 and 14 fail for good after writing.
      if (item === 3 && attempt === 1) throw new Error('try again');
      if (item % 7 === 0) throw new PermanentError(`item ${item} is poison`);
      return item;
    },
  });
  const summary = await runJob(job, { sourceUrl: db.url, store });
  expect(summary).toMatchObject({ done: 18, failed: 2 });
  const rows = await db.sql<{ item: number; attempt: number }[]>`
    select item, attempt from applied order by item`;
  expect(rows).toEqual(
    items.filter((i) => i % 7 !== 0).map((item) => ({ item, attempt: item === 3 ? 2 : 1 })),
  );
  const dead = await db.sql<{ key: string }[]>`
    select item_key as key from sluice.dead_letters order by item_key`;
  expect(dead.map((d) => d.key)).toEqual(['14', '7']);
});
