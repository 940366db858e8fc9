import { expect, test } from 'vitest';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });

test('examples/dead-letters.ts: 10 poisoned records, and a replay after the fix clears the 5 it fixes', async () => {
  const run = await runSluice(['run', 'examples/dead-letters.ts', '--database-url', db.url]);
  expect(run.code, run.stderr).toBe(3);
  expect(run.stdout).toContain('Batch complete: 1990/2000 items, 10 failed (0.5%)');
  const [prices] = await db.sql`select count(*)::int as n from prices`;
  expect(prices?.n).toBe(1990);
  // The records that timed out once were retried and landed: none is a dead letter.
  const letters =
    await db.sql`select item_key, attempts, error from sluice.dead_letters order by item_key`;
  expect(letters).toHaveLength(10);
  expect(letters.every((l) => l.attempts === 1)).toBe(true);

  const replay = await runSluice(['dlq', 'replay', 'price-import', '--database-url', db.url], {
    ACCEPT_COMMAS: '1',
  });
  expect(replay.code, replay.stderr).toBe(3);
  expect(replay.stdout).toContain('Batch complete: 1995/2000 items, 5 failed (0.3%)');
  const left =
    await db.sql`select item_key, attempts, error from sluice.dead_letters order by item_key`;
  expect(left.map((l) => [l.item_key, l.attempts])).toEqual([
    ['sku-0389', 2],
    ['sku-0778', 2],
    ['sku-1167', 2],
    ['sku-1556', 2],
    ['sku-1945', 2],
  ]);
  expect(left[0]?.error).toBe('no price given ("N/A")');
});
