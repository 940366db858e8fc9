import { createHash } from 'node:crypto';
import type { PendingQuery, Row, Sql } from 'postgres';
import { expected, InputError, wholeNumber } from '../errors.ts';
import type { PlanContext, PlannedTask, Source } from '../job/types.ts';
import { optionNames, refuseUnknownOptions } from '../optionNames.ts';
import { parseTableName, type TableName } from './identifiers.ts';
import { findRelation } from './tableChecks.ts';
import { blameWhere } from './whereErrors.ts';

/**
 * Past any page a table can have (block numbers stop at 2^32 - 2), so the last range is open-ended:
 * it reads to the table's end as it is when the task runs.
 */
const pastLastPage = 4_294_967_295;

/** One task's slice of a table: the pages (blocks) `startPage` up to, not including, `endPage`. */
export interface TableBlock {
  startPage: number;
  /** The first page after the range; the last range's is 4294967295, past any page. */
  endPage: number;
  /** Pages in the range when it was planned (for the last range, up to the table's end then). */
  pages: number;
  /**
   * The condition that selects this range's rows: `ctid >= '(startPage,0)' and ctid <
   * '(endPage,0)'` (a TID Range Scan), and the source's `where` when it has one. Use it as
   * ``sql`select ... from orders where ${block.where(sql)}` ``.
   */
  where(sql: Sql): PendingQuery<Row[]>;
}

export interface TableBlocksOptions {
  /** `orders` or `shop.orders`, taken literally as if double-quoted. */
  table: string;
  /** Pages (blocks, 8 kB by default) per task; the last task also reads any page past them. */
  pagesPerTask: number;
  /** Narrows the rows each task reads, for example ``(sql) => sql`status = ${'paid'}` ``. Default: all rows. */
  where?: (sql: Sql) => PendingQuery<Row[]>;
}

const tableBlocksNames = optionNames<TableBlocksOptions>({
  table: true,
  pagesPerTask: true,
  where: true,
});

/**
 * Splits a table into contiguous ranges of physical pages, read by ctid. Needs no index, and plans
 * from the table's size alone; every row is read exactly once only while the table is not written.
 */
export function tableBlocks(options: TableBlocksOptions): Source<TableBlock> {
  if (typeof options !== 'object' || options === null) {
    throw expected('tableBlocks', 'an options object', options);
  }
  refuseUnknownOptions(options, tableBlocksNames, { where: 'tableBlocks({...})' });
  const table = parseTableName('table', options.table);
  const pagesPerTask = wholeNumber('pagesPerTask', options.pagesPerTask, 1);
  const where = options.where;
  if (where !== undefined && typeof where !== 'function') {
    throw expected('where', 'a function returning a condition, such as sql`paid = true`', where);
  }
  const describe = `tableBlocks(${table.display})`;
  const fingerprint = createHash('sha256')
    .update(
      JSON.stringify({
        source: 'tableBlocks',
        table: table.display,
        pagesPerTask,
        where: where ? where.toString() : null,
      }),
    )
    .digest('hex');

  /** `ctid` bounds of pages [start, end), and the `where`: values as parameters. */
  const condition = (sql: Sql, start: number, end: number): PendingQuery<Row[]> =>
    sql`ctid >= ${tid(start)}::tid and ctid < ${tid(end)}::tid ${where ? sql`and (${where(sql)})` : sql``}`;

  async function* planTable(sql: Sql): AsyncGenerator<PlannedTask> {
    const pages = await tablePages(sql, table, describe);
    if (where) {
      // Runs the fragment once, over the first page only, so a bad one is refused before planning.
      await sql`select exists (select 1 from ${sql.unsafe(table.quoted)} where ${condition(sql, 0, 1)}) as found`;
    }
    for (let start = 0; start < pages; start += pagesPerTask) {
      const last = start + pagesPerTask >= pages;
      const payload: BlockPayload = {
        startPage: start,
        endPage: last ? pastLastPage : start + pagesPerTask,
        pages: Math.min(pagesPerTask, pages - start),
      };
      yield { payload, items: payload.pages };
    }
  }

  return {
    describe,
    fingerprint,
    unit: 'pages',
    taskNoun: 'block ranges',
    input(payload: unknown): TableBlock {
      const block = parseBlock(payload);
      return { ...block, where: (sql) => condition(sql, block.startPage, block.endPage) };
    },
    plan({ sql }: PlanContext): AsyncGenerator<PlannedTask> {
      return where ? blameWhere(describe, planTable(sql)) : planTable(sql);
    },
  };
}

type BlockPayload = Omit<TableBlock, 'where'>;

/** A tid literal for the first tuple slot of a page; tuples are numbered from 1, so 0 is before all. */
function tid(page: number): string {
  return `(${page},0)`;
}

/**
 * The table's pages: the larger of `pg_class.relpages` (as of the last VACUUM or ANALYZE) and its
 * size on disk now, so rows past a stale relpages (a table never analyzed says 0) are not lost.
 */
async function tablePages(sql: Sql, table: TableName, describe: string): Promise<number> {
  const relation = await findRelation(sql, table, describe);
  const [rel] = await sql`
    select c.relkind,
      greatest(c.relpages::float8,
        pg_relation_size(c.oid)::float8 / current_setting('block_size')::float8) as pages
    from pg_class c where c.oid = ${relation}::oid`;
  if (rel?.relkind === 'p') {
    throw new InputError(
      `${describe}: \`${table.display}\` is a partitioned table, whose partitions number their pages each from 0; ` +
        'split one partition at a time, or use tableRanges',
    );
  }
  return Math.ceil(Number(rel?.pages ?? 0));
}

function isPage(value: unknown): value is number {
  return (
    typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= pastLastPage
  );
}

function parseBlock(payload: unknown): BlockPayload {
  const p = payload as Partial<BlockPayload> | null;
  if (
    typeof p !== 'object' ||
    p === null ||
    !isPage(p.startPage) ||
    !isPage(p.endPage) ||
    p.endPage <= p.startPage ||
    typeof p.pages !== 'number'
  ) {
    throw expected('payload', 'a block range { startPage, endPage, pages }', payload);
  }
  return { startPage: p.startPage, endPage: p.endPage, pages: p.pages };
}
