import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { type CursorChunk, type CursorOptions, cursor } from '../../src/plan/cursor.ts';
import { busySessions, useTestDatabase } from '../support/db.ts';

const db = useTestDatabase({ max: 4 });

// A cursor left open by a stopped or failed plan would show as a busy session here.
afterEach(async () => {
  expect(await busySessions(db.sql)).toBe(0);
});

interface Planned {
  chunks: CursorChunk[];
  sizes: number[];
  /** Each chunk's rows as the worker reads them. */
  rows: Record<string, unknown>[][];
}

/** Plans, then loads every chunk from its stored (JSON round-tripped) payload. */
async function planAndLoad(options: CursorOptions): Promise<Planned> {
  const source = cursor(options);
  const planned: Planned = { chunks: [], sizes: [], rows: [] };
  for await (const task of source.plan({ sql: db.sql })) {
    const payload = JSON.parse(JSON.stringify(task.payload));
    planned.chunks.push(payload);
    planned.sizes.push(task.items);
  }
  const worker = await db.sql.reserve();
  try {
    for (const chunk of planned.chunks) {
      planned.rows.push((await source.load?.(chunk, { sql: worker })) ?? []);
    }
  } finally {
    worker.release();
  }
  return planned;
}

/** Every chunk but the last holds exactly `size` rows, and the plan counted what the worker read. */
function expectExactChunks(planned: Planned, size: number) {
  expect(planned.rows.map((r) => r.length)).toEqual(planned.sizes);
  for (const n of planned.sizes.slice(0, -1)) expect(n).toBe(size);
  const last = planned.sizes.at(-1);
  if (last !== undefined) expect(last >= 1 && last <= size).toBe(true);
}

/** A small seeded PRNG (mulberry32), so a failing table can be rebuilt from its seed. */
function prng(seed: number): (lo: number, hi: number) => number {
  let a = seed >>> 0;
  return (lo, hi) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return lo + Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (hi - lo + 1));
  };
}

describe('a compound (updated_at, id) key', () => {
  beforeAll(async () => {
    // 3,000 rows share one timestamp; the others differ by one microsecond each.
    await db.sql`create table events (id bigint primary key, updated_at timestamptz not null, note text)`;
    await db.sql`create index on events (updated_at, id)`;
    await db.sql`
      insert into events
      select g, case when g % 4 = 0 then timestamptz '2026-03-01 12:00:00.123456+00'
                     else timestamptz '2026-03-01 00:00:00+00' + make_interval(secs => g / 1e6) end,
             'n' || g
      from generate_series(1, 12000) g`;
    await db.sql`analyze events`;
  });

  test('every chunk holds exactly batchSize rows but the last, each row once, in key order', async () => {
    const planned = await planAndLoad({
      table: 'events',
      key: ['updated_at', 'id'],
      batchSize: 701,
      columns: ['id', 'updated_at'],
    });
    expectExactChunks(planned, 701);
    expect(planned.sizes.length).toBe(Math.ceil(12000 / 701));
    const ids = planned.rows.flat().map((row) => String(row.id));
    const [ordered] = await db.sql`
      select array_agg(id::text order by updated_at, id) as ids from events`;
    expect(ids).toEqual(ordered?.ids);
    // A chunk's bounds are the keys of its last row; the next chunk starts right after.
    for (const [i, chunk] of planned.chunks.entries()) {
      expect(chunk.after).toEqual(i === 0 ? null : planned.chunks[i - 1]?.through);
    }
    // Selected columns only.
    expect(Object.keys(planned.rows[0]?.[0] ?? {}).sort()).toEqual(['id', 'updated_at']);
  });

  test('boundaries inside the 3,000 equal timestamps, one microsecond apart, and batchSize 1', async () => {
    const tail = await planAndLoad({
      table: 'events',
      key: ['updated_at', 'id'],
      batchSize: 1,
      columns: ['id'],
      where: (q) => q`id > 11900 or (id % 4 = 0 and id < 400)`,
    });
    expectExactChunks(tail, 1);
    const [want] = await db.sql`
      select array_agg(id::text order by updated_at, id) as ids from events
      where id > 11900 or (id % 4 = 0 and id < 400)`;
    expect(tail.rows.flat().map((r) => String(r.id))).toEqual(want?.ids);
    // Timestamps travel as text with all six fractional digits, never through a JS Date.
    expect(tail.chunks.some((c) => c.through[0]?.endsWith('.123456+00:00'))).toBe(true);
  });

  test('where narrows the rows the plan counts and the worker reads', async () => {
    const planned = await planAndLoad({
      table: 'events',
      key: ['updated_at', 'id'],
      batchSize: 500,
      where: (q) => q`note like ${'%7'}`,
    });
    expectExactChunks(planned, 500);
    const [want] = await db.sql`select count(*)::int as n from events where note like '%7'`;
    expect(planned.rows.flat().length).toBe(want?.n);
    expect(planned.rows.flat().every((row) => String(row.note).endsWith('7'))).toBe(true);
  });

  test('a `where` the server refuses is one InputError naming the source', async () => {
    const refusals: [CursorOptions['where'], string][] = [
      [(q) => q`nosuch = 1`, 'column "nosuch" does not exist'],
      [(q) => q`note like`, 'syntax error at or near ")"'],
      [(q) => q`id = ${'abc'}`, 'invalid input syntax for type bigint: "abc"'],
      [(q) => q`id / 0 = 1`, 'division by zero'],
    ];
    for (const [where, reason] of refusals) {
      const source = cursor({ table: 'events', key: ['updated_at', 'id'], batchSize: 100, where });
      const error = await source
        .plan({ sql: db.sql })
        [Symbol.asyncIterator]()
        .next()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toBe(
        `The \`where\` of cursor(events.(updated_at, id)) failed: ${reason}`,
      );
    }
  });

  test('columns picks what each row carries; an unknown one is refused before planning', async () => {
    const planned = await planAndLoad({
      table: 'events',
      key: ['updated_at', 'id'],
      batchSize: 5000,
      columns: ['note'],
    });
    expect(planned.rows[0]?.[0]).toEqual({ note: 'n1' });
    const source = cursor({ table: 'events', key: 'id', batchSize: 10, columns: ['note', 'nope'] });
    await expect(source.plan({ sql: db.sql })[Symbol.asyncIterator]().next()).rejects.toThrow(
      'cursor(events.id): column `nope` does not exist in table `events`',
    );
  });
});

test('random gaps: every row in exactly one chunk, exact sizes (property, 12 tables)', async () => {
  for (let seed = 1; seed <= 12; seed++) {
    const rand = prng(seed);
    const table = `gaps_${seed}`;
    await db.sql`create table ${db.sql(table)} (id bigint primary key, grp int not null)`;
    const ids: string[] = [];
    let id = BigInt(rand(-1000, 1000));
    const count = rand(0, 3000);
    for (let i = 0; i < count; i++) {
      // Mostly small steps, sometimes a jump past 2^53 territory.
      id += BigInt(rand(1, 5)) + (rand(1, 200) === 1 ? 10n ** BigInt(rand(3, 17)) : 0n);
      ids.push(id.toString());
    }
    await db.sql`insert into ${db.sql(table)} select unnest(${ids}::int8[]), 0`;
    await db.sql`update ${db.sql(table)} set grp = (id % 3)::int`;
    const batchSize = rand(1, 400);
    const filtered = seed % 3 === 0;
    const planned = await planAndLoad({
      table,
      key: 'id',
      batchSize,
      where: filtered ? (q) => q`grp <> 1` : undefined,
    });
    expectExactChunks(planned, batchSize);
    const read = planned.rows.flat().map((row) => String(row.id));
    const want = filtered ? ids.filter((v) => BigInt(v) % 3n !== 1n) : ids;
    expect(read, `seed ${seed}`).toEqual(want);
    expect(planned.sizes.length).toBe(Math.ceil(want.length / batchSize));
  }
});

test('keys of every orderable type round-trip exactly: bigint, text, timestamptz, uuid, numeric', async () => {
  await db.sql`create table typed (
    b bigint not null, t text not null, ts timestamptz not null, u uuid not null, n numeric not null,
    seq int primary key)`;
  await db.sql`
    insert into typed
    select 9007199254740993 + g * 2, 'k' || lpad(g::text, 5, '0') || ' é "q"',
      timestamptz '2026-01-01 00:00:00.000001+00' + make_interval(secs => g / 1e6),
      md5(g::text)::uuid, 0.1 + g / 3.0, g
    from generate_series(1, 300) g`;
  for (const key of ['b', 't', 'ts', 'u', 'n']) {
    await db.sql.unsafe(`create unique index on typed (${key}, seq)`);
    const planned = await planAndLoad({
      table: 'typed',
      key: [key, 'seq'],
      batchSize: 7,
      columns: ['seq'],
    });
    expectExactChunks(planned, 7);
    const [want] = await db.sql.unsafe(
      `select array_agg(seq order by ${key}, seq) as seqs from typed`,
    );
    expect(
      planned.rows.flat().map((row) => row.seq),
      key,
    ).toEqual(want?.seqs);
  }
  // Bigint keys beyond 2^53 stay exact decimal strings in the payload.
  const planned = await planAndLoad({ table: 'typed', key: ['b', 'seq'], batchSize: 300 });
  expect(planned.chunks[0]?.through).toEqual(['9007199254741593', '300']);
});

test('an empty table plans no chunks; a plain array payload is those rows again', async () => {
  await db.sql`create table empty (id int primary key)`;
  const planned = await planAndLoad({ table: 'empty', key: 'id', batchSize: 10 });
  expect(planned.chunks).toEqual([]);
  const source = cursor({ table: 'empty', key: 'id', batchSize: 10 });
  const rows = [{ id: 1 }, { id: 2 }];
  expect(await source.load?.(rows, { sql: db.sql })).toBe(rows);
  expect(source).toMatchObject({ unit: 'rows', taskNoun: 'chunks', outcomes: true });
  expect(source.describe).toBe('cursor(empty.id)');
});

test('a plan stopped after its first chunk releases its cursor', async () => {
  await db.sql`create table many (id int primary key)`;
  await db.sql`insert into many select generate_series(1, 20000)`;
  const source = cursor({ table: 'many', key: 'id', batchSize: 3 });
  for await (const task of source.plan({ sql: db.sql })) {
    expect(task).toEqual({ payload: { after: null, through: ['3'] }, items: 3 });
    break;
  }
});

test('the fingerprint follows the options that shape the plan, not the columns', () => {
  const base = { table: 'events', key: ['updated_at', 'id'], batchSize: 100 } as const;
  const f = (o: CursorOptions) => cursor(o).fingerprint;
  expect(f(base)).toBe(f({ ...base, columns: ['id'] }));
  expect(f(base)).not.toBe(f({ ...base, batchSize: 101 }));
  expect(f(base)).not.toBe(f({ ...base, key: ['id'] }));
  expect(f(base)).not.toBe(f({ ...base, where: (q) => q`true` }));
});

describe('options are checked when the job module loads', () => {
  const cases: [string, unknown, string][] = [
    [
      'batchSize 0',
      { table: 't', key: 'id', batchSize: 0 },
      'Expected `batchSize` to be a whole number >= 1, got `0` (number)',
    ],
    [
      'batchSize 2.5',
      { table: 't', key: 'id', batchSize: 2.5 },
      'Expected `batchSize` to be a whole number >= 1, got `2.5` (number)',
    ],
    [
      'no key',
      { table: 't', key: [], batchSize: 1 },
      'Expected `key` to be a column name or a non-empty array',
    ],
    [
      'a repeated key',
      { table: 't', key: ['a', 'a'], batchSize: 1 },
      'Expected `key` to be distinct column names',
    ],
    ['a bad table', { table: '', key: 'id', batchSize: 1 }, 'Expected `table` to be a table name'],
    [
      'where as a string',
      { table: 't', key: 'id', batchSize: 1, where: 'x = 1' },
      'Expected `where` to be a function',
    ],
    [
      'empty columns',
      { table: 't', key: 'id', batchSize: 1, columns: [] },
      'Expected `columns` to be a non-empty array',
    ],
  ];
  for (const [name, options, message] of cases) {
    test(name, () => {
      expect(() => cursor(options as CursorOptions)).toThrow(InputError);
      expect(() => cursor(options as CursorOptions)).toThrow(message);
    });
  }
});
