// An API backfill in chunks of ids: enrich 100,000 user ids from a file against an API
// whose quota is lower than the rate the workers could reach. Each worker keeps one HTTP client
// for its chunks of 1,000 ids; the rate limit holds across every process of the job; a 429
// pauses them all for its Retry-After. Every id gets an outcome in the JSONL manifest; the demo
// API has no user for every 997th id, so 100 ids fail (404) and the run ends with exit 3 on
// purpose.
//
//   npx sluice run examples/api-enrichment.ts --out profiles.jsonl
//   API_URL=http://127.0.0.1:8787 API_TOKEN=... npx sluice run examples/api-enrichment.ts
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { chunks, defineJob, PermanentError, throwIfThrottled } from 'sluice';
import { HttpClient } from './demo/httpClient.ts';
import { startApiPeer } from './peers/api.ts';

const idsFile = process.env.USER_IDS_FILE ?? '.sluice/demo/user_ids.txt';
const users = Number(process.env.USERS ?? 100_000);
// The API allows 2,000 requests a second; start below it, so arrivals that bunch stay under it.
const quota = Number(process.env.API_QUOTA ?? 2000);
let apiUrl = process.env.API_URL;

export default defineJob({
  name: process.env.JOB_NAME ?? 'api-enrichment',
  source: chunks(idsFile, 1000),
  maxParallelism: 20,
  rateLimit: { perSecond: Number(process.env.RATE ?? quota * 0.9) },
  retry: { attempts: 4, baseMs: 500 },
  async prepare() {
    if (!(await stat(idsFile).catch(() => undefined))) {
      await mkdir(dirname(idsFile), { recursive: true });
      await writeFile(idsFile, `${Array.from({ length: users }, (_, i) => i + 1).join('\n')}\n`);
    }
    // With no API_URL, the demo API runs inside this process for the length of the run.
    apiUrl ??= (await startApiPeer({ requestsPerWindow: quota })).url;
  },
  setup: () => new HttpClient({ authorization: `Bearer ${process.env.API_TOKEN ?? 'test-token'}` }),
  teardown: (client) => client.close(),
  async each(id, { resource: client, signal }) {
    const response = throwIfThrottled(await client.get(`${apiUrl}/v1/users/${id}`, signal));
    if (response.status === 404)
      throw Object.assign(new PermanentError(`user ${id} not found`), { status: 404 });
    if (response.status !== 200)
      throw Object.assign(new Error(`HTTP ${response.status}`), { status: response.status });
    return JSON.parse(response.body);
  },
});
