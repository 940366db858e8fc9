import { expect, test } from 'vitest';
import { finished, spawnSluice, waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 1 });

test('the ledger is applied in entry order, once, across a SIGKILL and a rerun', async () => {
  const args = ['run', 'examples/sequential-ledger.ts', '--database-url', db.url, '--json'];
  const victim = spawnSluice(args);
  const victimDone = finished(victim);
  await waitFor(async () => {
    const [row] = await db.sql`select count(*)::int as n from ledger_journal`.catch(() => [
      { n: 0 },
    ]);
    return (row?.n ?? 0) >= 150;
  });
  victim.kill('SIGKILL');
  expect((await victimDone).signal).toBe('SIGKILL');

  const rerun = await finished(spawnSluice(args));
  expect(rerun.code, rerun.stderr).toBe(0);
  const summary = JSON.parse(rerun.stdout.trim().split('\n').at(-1) as string);
  expect(summary).toMatchObject({ status: 'done', total: 600, done: 600, failed: 0 });
  console.log(`sequential-ledger rerun: ${summary.itemsPerSec.toFixed(0)} entries/s`);

  const journal = await db.sql<
    { entry_id: number }[]
  >`select entry_id from ledger_journal order by pos`;
  expect(journal.map((row) => row.entry_id)).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
  const mismatched = await db.sql`
    select a.id from ledger_accounts a
    join (select account, sum(amount) as total from ledger_entries group by account) e on e.account = a.id
    where a.balance <> e.total`;
  expect(mismatched).toEqual([]);

  // The order matters: had entries 101..200 (the second chunk) gone first, as they might in a
  // parallel run, some account would have gone below zero.
  const [reordered] = await db.sql`
    select min(running) < 0 as overdraws from (
      select sum(amount) over (partition by account
        order by case when id between 101 and 200 then 0 else 1 end, id) as running
      from ledger_entries) r`;
  expect(reordered?.overdraws).toBe(true);
});
