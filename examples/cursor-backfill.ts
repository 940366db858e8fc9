// A backfill that pages through a table by a compound keyset cursor, `where
// (updated_at, id) > (...) order by updated_at, id limit 2000`, never OFFSET, and writes its
// results with idempotent upserts. Each chunk is a task, so a crash resumes after the last
// finished chunk, and a chunk replayed after a crash writes the same rows again.
//
//   npx sluice run examples/cursor-backfill.ts            (embedded PostgreSQL, demo data)
//   DATABASE_URL=postgres://... npx sluice run examples/cursor-backfill.ts
import { cursor, defineJob, succeeded, upsert } from 'sluice';
import { createDemoArticles } from './demo/articles.ts';

interface Article {
  id: string;
  title: string;
  body: string;
}

export default defineJob({
  name: 'cursor-backfill',
  // 40% of the articles share one updated_at: the id in the key keeps every page exact.
  source: cursor<Article>({
    table: 'articles',
    key: ['updated_at', 'id'],
    batchSize: 2000,
    columns: ['id', 'title', 'body'],
  }),
  maxParallelism: 4,
  retry: { attempts: 3 },
  prepare: ({ sql }) => createDemoArticles(sql),
  async run(articles, { sql }) {
    const stats = articles.map((a) => ({
      article_id: a.id,
      slug: slugify(a.title),
      words: a.body.trim().split(/\s+/).length,
    }));
    await upsert(sql, 'article_stats', stats, { key: ['article_id'], update: 'all' });
    return articles.map((a, i) => succeeded(a, { words: stats[i]?.words }));
  },
});

function slugify(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}
