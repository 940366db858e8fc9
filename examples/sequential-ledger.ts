// Sequential, with a checkpoint per entry: apply ledger entries strictly in id order.
// A withdrawal that would take an account below zero is refused, so the order decides the
// balances. At a cap of 1 sluice claims the chunks in plan order, waits for a chunk in retry
// backoff rather than skipping it, and checkpoints after every entry: a killed run resumes at the
// next entry. The entry in flight at a crash may run again, so applying one is idempotent.
//
//   npx sluice run examples/sequential-ledger.ts            (embedded PostgreSQL, demo data)
import type { Sql } from 'postgres';
import { chunks, defineJob, PermanentError } from 'sluice';
import { createDemoLedger } from './demo/ledger.ts';

const entries = 600;

export default defineJob({
  name: 'sequential-ledger',
  source: chunks(
    Array.from({ length: entries }, (_, i) => i + 1), // entry ids, in the order to apply them
    100,
  ),
  maxParallelism: 1, // sequential: plan order, a checkpoint per entry
  retry: { attempts: 3, baseMs: 200 },
  prepare: ({ sql }) => createDemoLedger(sql, entries),
  async each(entryId, { sql }) {
    return inTransaction(sql, async () => {
      // The journal row fences the entry: a replay after a crash changes nothing.
      const [fresh] = await sql`
        insert into ledger_journal (entry_id, balance_after) values (${entryId}, 0)
        on conflict (entry_id) do nothing returning entry_id`;
      if (!fresh) return { entry: entryId, replayed: true };
      const [moved] = await sql<{ account: number; balance: string }[]>`
        update ledger_accounts a set balance = a.balance + e.amount
        from ledger_entries e
        where e.id = ${entryId} and a.id = e.account and a.balance + e.amount >= 0
        returning a.id as account, a.balance::text as balance`;
      if (!moved) throw new PermanentError(`entry ${entryId} would overdraw its account`);
      await sql`update ledger_journal set balance_after = ${moved.balance} where entry_id = ${entryId}`;
      return { entry: entryId, ...moved };
    });
  },
});

/** The worker's connection is its own, so a plain BEGIN/COMMIT on it makes one transaction. */
async function inTransaction<T>(sql: Sql, work: () => Promise<T>): Promise<T> {
  await sql`begin`;
  try {
    const result = await work();
    await sql`commit`;
    return result;
  } catch (error) {
    await sql`rollback`;
    throw error;
  }
}
