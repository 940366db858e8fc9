import type { Sql } from 'postgres';

// Serialises seeding between processes that start on an empty database at the same moment.
const seedLock = 0x0d_e0_0003;

/**
 * Creates the demo ledger when it is missing: `entries` entries over `accounts` accounts, all at
 * zero. Per account, every third entry withdraws 150.00 after two deposits of at least 100.00, so
 * applied in id order no account ever goes below zero, and applied out of order some would.
 */
export async function createDemoLedger(sql: Sql, entries = 600, accounts = 20): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${seedLock})`;
    const [found] = await tx`select to_regclass('ledger_entries') as t`;
    if (found?.t) return;
    await tx`create table ledger_accounts (id int primary key, balance numeric(12,2) not null default 0)`;
    await tx`create table ledger_entries (id int primary key, account int not null, amount numeric(12,2) not null)`;
    // The order entries were applied in: `pos` is assigned at apply time.
    await tx`create table ledger_journal (
      entry_id int primary key, pos bigserial not null, balance_after numeric(12,2) not null)`;
    await tx`insert into ledger_accounts (id) select generate_series(1, ${accounts})`;
    await tx`
      insert into ledger_entries (id, account, amount)
      select g, 1 + (g - 1) % ${accounts},
        case when ((g - 1) / ${accounts}) % 3 = 2 then -150.00 else 100.00 + (g * 7) % 50 end
      from generate_series(1, ${entries}) g`;
  });
}
