// MapReduce: count the words of a table of documents. Each range is a map that
// returns its counts as a Map of word → count; sluice stores them as the range's report, and
// `combine` adds the counts of a word. The result folds the stored partials in plan order, so it
// is the same whatever order the ranges finished in, and a resumed run never maps a finished
// range again.
//
//   npx sluice run examples/word-count.ts                   (embedded PostgreSQL, demo data)
import { defineJob, tableRanges } from 'sluice';
import { createDemoDocuments } from './demo/documents.ts';

export default defineJob({
  name: 'word-count',
  source: tableRanges({ table: 'documents', key: 'id', rowsPerRange: 5000 }),
  maxParallelism: 4,
  prepare: ({ sql }) => createDemoDocuments(sql),
  async run(range, { sql }) {
    const words = await sql<{ word: string; n: number }[]>`
      select word, count(*)::int as n
      from documents, string_to_table(body, ' ') as word
      where id between ${range.start} and ${range.end}
      group by word`;
    return new Map(words.map(({ word, n }) => [word, n]));
  },
  combine: (a, b) => a + b,
});
