import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { upsert } from '../../src/sink/upsert.ts';
import { busySessions, useTestDatabase } from '../support/db.ts';

// Values that are awkward to carry, repeated keys at scale, and refusals by PostgreSQL itself.

const db = useTestDatabase({ max: 4 });

beforeAll(async () => {
  await db.sql`create domain email as text check (value like '%@%')`;
  await db.sql`create domain meta as jsonb`;
  await db.sql`create domain short_text as varchar(12)`;
  await db.sql`create type money_pair as (amount numeric, currency text)`;
});

afterEach(async () => {
  expect(await busySessions(db.sql)).toBe(0);
});

beforeEach(async () => {
  await db.sql`drop table if exists kitchen, coded, priced`;
  await db.sql`
    create table kitchen (
      id bigint primary key,
      at timestamptz,
      amount numeric,
      doc jsonb,
      raw json,
      tags text[],
      grid int[],
      note text,
      flag boolean,
      bytes bytea,
      mail email,
      extra meta,
      shorts short_text[],
      span interval,
      stamp timestamptz not null default now()
    )`;
});

// Characters that text formats, array literals and JSON treat specially, and strings that look
// like their markers.
const nasty = [
  'tab\there',
  'new\nline',
  'carriage\rreturn',
  'back\\slash',
  'double "quote"',
  "single 'quote'",
  '\\N',
  'NULL',
  '\\.',
  '',
  ' spaced ',
  '{brace},comma',
  'é 😀 ünïcode',
];

const docOf = (s: string, i: number, version: number) =>
  i % 4 === 0
    ? s
    : { s, list: [s, null, 1.5, true, { deeper: s }], n: i + version, empty: {}, none: null };

function kitchenRows(version = 0) {
  return nasty.map((s, i) => ({
    id: BigInt(i + 1),
    at: i % 2 === 0 ? `2026-01-0${(i % 9) + 1} 12:34:56.${123456 + i + version}+00` : new Date(i),
    amount: i % 3 === 0 ? `1234567890123456789012345.${'0123456789'.repeat(3)}${version}` : i + 0.5,
    doc: docOf(s, i, version),
    raw: i % 4 === 1 ? [s, { s }] : { s, n: i },
    tags: i % 5 === 0 ? null : i % 5 === 1 ? [] : [s, null, '', 'a,b', `v${version}`],
    grid:
      i % 3 === 0
        ? [
            [1, 2],
            [3, null],
          ]
        : i % 3 === 1
          ? []
          : [i, null, -i],
    note: i % 6 === 0 ? undefined : s,
    flag: i % 3 === 0 ? null : i % 2 === 0,
    bytes: new Uint8Array([0, 9, 10, 92, 255, i]),
    mail: `${s}@example.com`,
    extra: i % 2 === 0 ? { s, v: version } : s,
    shorts: [s.slice(0, 12), null],
    span: `${i} days 03:04:05.678901`,
  }));
}

// Arrays are read as JSON: postgres.js 3.4 reads a NULL array element as the string 'NULL'.
async function stored() {
  return db.sql`
    select id::int, to_char(at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as at,
      amount::text, doc, raw::text, to_jsonb(tags) as tags, grid::text, note, flag, bytes,
      mail::text, extra, to_jsonb(shorts) as shorts, extract(epoch from span)::text as span
    from kitchen order by id`;
}

describe('awkward values', () => {
  test('strings with tabs, newlines, backslashes and quotes, microseconds, long numerics, nested jsonb, arrays with NULLs, domains, bytea', async () => {
    expect(await upsert(db.sql, 'kitchen', kitchenRows(), { key: ['id'], update: 'all' })).toEqual({
      written: nasty.length,
    });
    const rows = await stored();
    for (const [i, s] of nasty.entries()) {
      const row = rows[i] as Record<string, unknown>;
      expect(row.at).toBe(
        i % 2 === 0
          ? `2026-01-0${(i % 9) + 1} 12:34:56.${123456 + i}`
          : `1970-01-01 00:00:00.${String(i).padStart(3, '0')}000`,
      );
      expect(row.amount).toBe(
        i % 3 === 0 ? `1234567890123456789012345.${'0123456789'.repeat(3)}0` : String(i + 0.5),
      );
      expect(row.doc).toEqual(docOf(s, i, 0));
      expect(row.raw).toBe(JSON.stringify(i % 4 === 1 ? [s, { s }] : { s, n: i }));
      expect(row.tags).toEqual(i % 5 === 0 ? null : i % 5 === 1 ? [] : [s, null, '', 'a,b', 'v0']);
      expect(row.grid).toBe(
        i % 3 === 0 ? '{{1,2},{3,NULL}}' : i % 3 === 1 ? '{}' : `{${i},NULL,${-i}}`,
      );
      expect(row.note).toBe(i % 6 === 0 ? null : s);
      expect(row.flag).toBe(i % 3 === 0 ? null : i % 2 === 0);
      expect(Buffer.from(row.bytes as Uint8Array)).toEqual(Buffer.from([0, 9, 10, 92, 255, i]));
      expect(row.mail).toBe(`${s}@example.com`);
      expect(row.extra).toEqual(i % 2 === 0 ? { s, v: 0 } : s);
      expect(row.shorts).toEqual([s.slice(0, 12), null]);
      expect(row.span).toBe((i * 86_400 + 11_045.678901).toFixed(6));
    }
  });

  test('a replay leaves the contents identical; a column-list update changes only its columns', async () => {
    await upsert(db.sql, 'kitchen', kitchenRows(), { key: ['id'], update: 'all' });
    const first = await stored();
    await upsert(db.sql, 'kitchen', kitchenRows(), { key: ['id'], update: 'all' });
    expect(await stored()).toEqual(first);
    await upsert(db.sql, 'kitchen', kitchenRows(1), { key: ['id'], update: ['doc', 'tags'] });
    const after = await stored();
    expect(after.map((r) => ({ ...r, doc: null, tags: null }))).toEqual(
      first.map((r) => ({ ...r, doc: null, tags: null })),
    );
    expect(after[2]?.tags).toEqual([nasty[2], null, '', 'a,b', 'v1']);
    expect(after[1]?.doc).toEqual(docOf(nasty[1] as string, 1, 1));
  });

  test('a row-type column takes an object', async () => {
    await db.sql`create table priced (id int primary key, price money_pair)`;
    const rows = [{ id: 1, price: { amount: '9.99', currency: 'EUR\t"x"' } }];
    await upsert(db.sql, 'priced', rows, { key: ['id'], update: 'all' });
    const [row] = await db.sql`select (price).amount::text, (price).currency from priced`;
    expect(row).toEqual({ amount: '9.99', currency: 'EUR\t"x"' });
  });

  test('PostgreSQL refuses a value too long for varchar(n), and a NUL character', async () => {
    await db.sql`create table coded (id int primary key, code varchar(3))`;
    const options = { key: ['id'], update: 'all' } as const;
    await expect(upsert(db.sql, 'coded', [{ id: 1, code: 'abcd' }], options)).rejects.toThrow(
      'value too long for type character varying(3)',
    );
    await expect(upsert(db.sql, 'coded', [{ id: 1, code: 'a\0b' }], options)).rejects.toThrow(
      'unsupported Unicode escape sequence',
    );
    const [count] = await db.sql`select count(*)::int as n from coded`;
    expect(count?.n).toBe(0);
  });
});

describe('repeated keys within one batch', () => {
  // 30,000 rows over 10,000 keys, each key three times, in a scattered order: the order the rows
  // were given must decide which one stays.
  const keys = 10_000;
  const rows = (round: number) =>
    Array.from({ length: keys * 3 }, (_, i) => ({
      id: BigInt((i * 7919) % keys),
      note: `round ${round}, copy ${Math.floor(i / keys)}`,
    }));

  test('updating keeps the last row of a key, as writing one by one would', async () => {
    const options = { key: ['id'], update: 'all', batchSize: 30_000 } as const;
    expect(await upsert(db.sql, 'kitchen', rows(0), options)).toEqual({ written: keys });
    expect(await db.sql`select distinct note from kitchen`).toEqual([{ note: 'round 0, copy 2' }]);
  });

  test("'none' keeps the first row of a key", async () => {
    const options = { key: ['id'], update: 'none', batchSize: 30_000 } as const;
    expect(await upsert(db.sql, 'kitchen', rows(0), options)).toEqual({ written: keys });
    expect(await upsert(db.sql, 'kitchen', rows(1), options)).toEqual({ written: 0 });
    expect(await db.sql`select distinct note from kitchen`).toEqual([{ note: 'round 0, copy 0' }]);
  });
});

test('on a reserved connection (as a job gets), a bad value in a later batch keeps the earlier batches', async () => {
  const rows = Array.from({ length: 6000 }, (_, i) => ({
    id: BigInt(i),
    at: i === 5500 ? 'not a time' : new Date(i),
  }));
  const reserved = await db.sql.reserve();
  try {
    await expect(
      upsert(reserved, 'kitchen', rows, { key: ['id'], update: 'all', batchSize: 2000 }),
    ).rejects.toThrow('invalid input syntax for type timestamp with time zone: "not a time"');
  } finally {
    reserved.release();
  }
  const [count] = await db.sql`select count(*)::int as n from kitchen`;
  expect(count?.n).toBe(4000);
});
