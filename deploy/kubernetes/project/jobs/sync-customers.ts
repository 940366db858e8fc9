// Pushes each customer in data/customer-ids.txt (one id a line, exported for this run) to the
// CRM's sync endpoint. Chunks of 500 ids; the CRM allows 50 requests a second for the whole
// account, so the rate limit holds across every worker pod, and a 429 pauses them all for its
// Retry-After. An id the CRM does not know fails at once and lands in the dead letters
// (`sluice dlq list sync-customers`); any other failure is retried.
//
//   sluice run jobs/sync-customers.ts --detach
//   sluice worker --all
import { chunks, defineJob, PermanentError, throwIfThrottled } from 'sluice';

const crmUrl = process.env.CRM_URL;
if (!crmUrl) throw new Error('CRM_URL is not set: the URL of the CRM API, from the jobs Secret');
const headers = { authorization: `Bearer ${process.env.CRM_TOKEN ?? ''}` };

export default defineJob({
  name: 'sync-customers',
  // Relative to the working directory: /app in the image, the project folder on a laptop.
  source: chunks('data/customer-ids.txt', 500),
  maxParallelism: 10,
  rateLimit: { perSecond: Number(process.env.CRM_RATE ?? 50) },
  retry: { attempts: 4, baseMs: 500 },
  async each(id, { signal }) {
    const url = `${crmUrl}/customers/${encodeURIComponent(id)}/sync`;
    // A CRM that hangs fails this one id after 10 s (and it is retried), not the whole chunk.
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(10_000)]);
    const response = throwIfThrottled(
      await fetch(url, { method: 'POST', headers, signal: deadline }),
    );
    if (response.status === 404) throw new PermanentError(`customer ${id} is not in the CRM`);
    if (!response.ok) throw new Error(`CRM answered HTTP ${response.status} for customer ${id}`);
    return { id, status: response.status };
  },
});
