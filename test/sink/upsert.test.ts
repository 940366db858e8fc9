import type { Sql } from 'postgres';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { upsert } from '../../src/sink/upsert.ts';
import { busySessions, useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 4 });

beforeAll(async () => {
  await db.sql`create schema shop`;
});

afterEach(async () => {
  expect(await busySessions(db.sql)).toBe(0);
});

beforeEach(async () => {
  await db.sql`drop table if exists shop.events, plain, tenants_items`;
  await db.sql`
    create table shop.events (
      id bigint primary key,
      at timestamptz not null,
      amount numeric(12,2),
      doc jsonb,
      tags text[],
      note text
    )`;
});

interface Event {
  id: bigint;
  at: Date;
  amount: string | null;
  doc: unknown;
  tags: string[] | null;
  note: string | null;
}

function events(n: number, version = 0): Event[] {
  return Array.from({ length: n }, (_, i) => ({
    id: BigInt(i) + 9_007_199_254_740_993n,
    at: new Date(Date.UTC(2026, 0, 1) + i * 1000 + version * 7),
    amount: i % 7 === 0 ? null : `${i + version}.${String(i % 100).padStart(2, '0')}`,
    doc:
      i % 5 === 0
        ? null
        : { n: i, v: version, nested: { list: [1, 'two', null], ok: true }, s: 'é"\\' },
    tags: i % 3 === 0 ? null : i % 3 === 1 ? [] : ['a', `t${i + version}`, 'with, comma', 'q"'],
    note: i % 2 === 0 ? null : `note ${i} v${version}`,
  }));
}

async function contents(table = 'shop.events') {
  return db.sql.unsafe(`select * from ${table} order by 1, 2`);
}

function asStored(rows: Event[]) {
  return rows.map((r) => ({ ...r, id: r.id.toString() }));
}

describe('upsert', () => {
  test('2,500 rows in 3 batches round-trip every type, and a second run changes nothing', async () => {
    const rows = events(2500);
    const first = await upsert(db.sql, 'shop.events', rows, { key: ['id'], update: 'all' });
    expect(first.written).toBe(2500);
    const after = await contents();
    expect(after).toEqual(asStored(rows));

    const again = await upsert(db.sql, 'shop.events', rows, { key: ['id'], update: 'all' });
    expect(again.written).toBe(2500);
    expect(await contents()).toEqual(after);

    await upsert(db.sql, 'shop.events', rows, { key: ['id'], update: 'none' });
    expect(await contents()).toEqual(after);
  });

  test("update: 'all' overwrites, a list overwrites only its columns, 'none' keeps old values", async () => {
    const v0 = events(300);
    const v1 = events(300, 1);
    const v2 = events(300, 2);
    await upsert(db.sql, 'shop.events', v0, { key: ['id'], update: 'all' });

    await upsert(db.sql, 'shop.events', v1, { key: ['id'], update: 'none' });
    expect(await contents()).toEqual(asStored(v0));

    await upsert(db.sql, 'shop.events', v1, { key: ['id'], update: ['note'] });
    expect(await contents()).toEqual(
      asStored(v0.map((r, i) => ({ ...r, note: v1[i]?.note ?? null }))),
    );

    await upsert(db.sql, 'shop.events', v2, { key: ['id'], update: 'all' });
    expect(await contents()).toEqual(asStored(v2));
  });

  test("new rows are inserted under 'none', and only they count as written", async () => {
    await upsert(db.sql, 'shop.events', events(100), { key: ['id'], update: 'all' });
    const { written } = await upsert(db.sql, 'shop.events', events(150, 1), {
      key: ['id'],
      update: 'none',
    });
    expect(written).toBe(50);
    const [count] = await db.sql`select count(*)::int as n from shop.events`;
    expect(count?.n).toBe(150);
  });

  test('a compound key, in any order, and a repeated key in one batch keeps the last row', async () => {
    await db.sql`create table tenants_items (tenant text, id int, qty int, primary key (tenant, id))`;
    const rows = [
      { tenant: 'a', id: 1, qty: 1 },
      { tenant: 'b', id: 1, qty: 2 },
      { tenant: 'a', id: 1, qty: 3 },
    ];
    await upsert(db.sql, 'tenants_items', rows, { key: ['id', 'tenant'], update: 'all' });
    await upsert(db.sql, 'tenants_items', rows, { key: ['tenant', 'id'], update: 'all' });
    expect(await contents('tenants_items')).toEqual([
      { tenant: 'a', id: 1, qty: 3 },
      { tenant: 'b', id: 1, qty: 2 },
    ]);
  });

  test('a unique index (not only a constraint) can be the key; no rows is a no-op', async () => {
    await db.sql`create table plain (code text not null, n int)`;
    await db.sql`create unique index on plain (code)`;
    await upsert(db.sql, 'plain', [{ code: 'x', n: 1 }], { key: ['code'], update: 'all' });
    await upsert(db.sql, 'plain', [{ code: 'x', n: 2 }], { key: ['code'], update: 'all' });
    expect(await upsert(db.sql, 'plain', [], { key: ['code'], update: 'all' })).toEqual({
      written: 0,
    });
    expect(await contents('plain')).toEqual([{ code: 'x', n: 2 }]);
  });

  test('within a transaction, a failure rolls every batch back', async () => {
    const rows = events(2500);
    await expect(
      db.sql.begin(async (tx) => {
        await upsert(tx as unknown as Sql, 'shop.events', rows, { key: ['id'], update: 'all' });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await contents()).toEqual([]);
  });
});

describe('upsert refuses bad input and writes nothing', () => {
  const one = events(1);

  async function refused(promise: Promise<unknown>, message: string | RegExp) {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(message);
    expect(await contents()).toEqual([]);
  }

  test('a missing table', async () => {
    await refused(
      upsert(db.sql, 'shop.nope', one, { key: ['id'], update: 'all' }),
      'upsert(shop.nope): table shop.nope does not exist',
    );
  });

  test('a missing column', async () => {
    const rows = one.map((r) => ({ ...r, colour: 'red' }));
    await refused(
      upsert(db.sql, 'shop.events', rows, { key: ['id'], update: 'all' }),
      'upsert(shop.events): column "colour" does not exist in shop.events',
    );
  });

  test('a key with no unique constraint names the constraint it needs', async () => {
    await refused(
      upsert(db.sql, 'shop.events', one, { key: ['id', 'note'], update: 'all' }),
      'upsert(shop.events): no unique constraint on (id, note); add one with `alter table shop.events add unique (id, note)`',
    );
    await refused(
      upsert(db.sql, 'shop.events', one, { key: ['note'], update: 'all' }),
      '`alter table shop.events add unique (note)`',
    );
  });

  test('a partial unique index cannot be the key', async () => {
    await db.sql`create unique index on shop.events (note) where note is not null`;
    await refused(
      upsert(db.sql, 'shop.events', one, { key: ['note'], update: 'all' }),
      'no unique constraint on (note)',
    );
  });

  test('rows with differing columns, even in a later batch', async () => {
    const rows: object[] = events(1500);
    rows[1200] = { id: 1n, at: new Date() };
    await refused(
      upsert(db.sql, 'shop.events', rows, { key: ['id'], update: 'all' }),
      'row 1200 has columns (id, at) but row 0 has (id, at, amount, doc, tags, note)',
    );
  });

  test('bad options', async () => {
    const bad: [unknown, string][] = [
      [
        { key: [], update: 'all' },
        'Expected `key` to be a non-empty array of column names, got `[]`',
      ],
      [{ key: 'id', update: 'all' }, 'Expected `key` to be a non-empty array'],
      [{ key: ['id', 'id'], update: 'all' }, 'Expected `key` to be distinct column names'],
      [{ key: ['id'], update: 'some' }, 'Expected `update` to be'],
      [{ key: ['id'], update: ['id'] }, 'Expected `update` to be columns of the rows'],
      [{ key: ['id'], update: ['nope'] }, 'Expected `update` to be columns of the rows'],
      [{ key: ['id'], update: 'all', batchSize: 0 }, 'Expected `batchSize` to be a whole number'],
      [{ key: ['other'], update: 'all' }, 'key column "other" is missing from the rows'],
    ];
    for (const [options, message] of bad) {
      await refused(upsert(db.sql, 'shop.events', one, options as never), message);
    }
    await refused(
      upsert(db.sql, 'a.b.c', one, { key: ['id'], update: 'all' }),
      'Expected `table` to be a table name',
    );
  });

  test('a refusal is not cached: adding the constraint makes the same call work', async () => {
    await db.sql`create table plain (code text, n int)`;
    const rows = [{ code: 'x', n: 1 }];
    await expect(upsert(db.sql, 'plain', rows, { key: ['code'], update: 'all' })).rejects.toThrow(
      'add one with `alter table plain add unique (code)`',
    );
    await db.sql`alter table plain add unique (code)`;
    expect(await upsert(db.sql, 'plain', rows, { key: ['code'], update: 'all' })).toEqual({
      written: 1,
    });
  });
});
