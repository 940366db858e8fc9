// Retries and dead letters: a price import where a few records are poisoned. Each record is
// retried with backoff when that can help; records that cannot be parsed go straight to the
// dead-letter table after one try, and the batch goes on.
//
//   npx sluice run examples/dead-letters.ts             exit 3: 1990/2000 items, 10 failed
//   npx sluice dlq list price-import                    the 10 records, their attempts and errors
//   npx sluice dlq show price-import sku-0397           payload, error, stack, attempts, times
//   ACCEPT_COMMAS=1 npx sluice dlq replay price-import  the fixed parser clears the 5 comma prices;
//                                                      the 5 without a price stay (exit 3)
//   npx sluice dlq purge price-import --key sku-0778    give up on one record
import { chunks, defineJob, PermanentError } from 'sluice';

interface PriceRecord {
  id: string;
  price: string;
}

// Every 397th record has a comma decimal ("12,50"), every 389th has no price at all.
const records: PriceRecord[] = Array.from({ length: 2000 }, (_, i) => {
  const n = i + 1;
  const cents = (n * 37) % 10_000;
  const price =
    n % 389 === 0
      ? 'N/A'
      : `${Math.floor(cents / 100)}${n % 397 === 0 ? ',' : '.'}${String(cents % 100).padStart(2, '0')}`;
  return { id: `sku-${String(n).padStart(4, '0')}`, price };
});

const acceptCommas = process.env.ACCEPT_COMMAS === '1';

function parsePrice(text: string): number {
  if (text === 'N/A') throw new PermanentError(`no price given (${JSON.stringify(text)})`);
  const normalised = acceptCommas ? text.replace(',', '.') : text;
  if (!/^\d+\.\d+$/.test(normalised))
    throw new SyntaxError(`unreadable price ${JSON.stringify(text)}`);
  return Number(normalised);
}

export default defineJob({
  name: 'price-import',
  source: chunks(records, 100),
  maxParallelism: 4,
  retry: {
    attempts: 4,
    backoff: 'exponential',
    baseMs: 50,
    maxMs: 1000,
    jitter: 'full',
    // A record that does not parse will not parse on a retry either.
    retryIf: (error) => !(error instanceof SyntaxError),
  },
  // The default key would be the record's `id` already; spelled out here to show the option.
  itemKey: (record) => record.id,
  async prepare({ sql }) {
    await sql`create table if not exists prices (sku text primary key, price numeric not null)`;
  },
  async each(record, { sql, attempt }) {
    // One write in fifty times out on its first try, as a busy database would: retried, it lands.
    if (attempt === 1 && Number(record.id.slice(4)) % 50 === 0) throw new Error('write timed out');
    const price = parsePrice(record.price);
    await sql`insert into prices (sku, price) values (${record.id}, ${price})
              on conflict (sku) do update set price = excluded.price`;
    return { sku: record.id, price };
  },
});
