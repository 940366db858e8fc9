// The dashboard as a request handler, in node:http and in Express, over a real store: pages and
// API, the token, cross-site and read-only refusals, hidden passwords, and the live stream.
import express from 'express';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createDashboard, type DashboardHandler, pauseJob, Store } from '../../src/index.ts';
import { runSluice } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';
import { awaitEvent, request, serve } from './support.ts';

const db = useTestDatabase({ max: 1 });
let store: Store;
const handlers: DashboardHandler[] = [];
const stops: (() => Promise<void>)[] = [];

/** Serves a dashboard over the test store in node:http; resolves with its base URL. */
async function dashboard(options: Omit<Parameters<typeof createDashboard>[0], 'store'> = {}) {
  const handler = createDashboard({ store, ...options });
  handlers.push(handler);
  const served = await serve(handler);
  stops.push(served.stop);
  return served.url;
}

const sameSite = (base: string) => ({ origin: base, 'x-sluice-action': '1' });

beforeAll(async () => {
  // A finished job with dead letters: item 7 fails three times, item 15 for good at once.
  const run = await runSluice(['run', 'test/fixtures/dlqJob.ts', '--database-url', db.url], {
    JOB_NAME: 'poisoned',
    POISON: '7',
    PERMANENT: '15',
  });
  expect(run.code, run.stderr).toBe(3);
  store = await Store.open(db.url);
});

afterAll(async () => {
  for (const handler of handlers) await handler.close();
  for (const stop of stops) await stop();
  await store?.close();
});

/** A job that stays running: one task nobody claims. */
async function runningJob(name: string) {
  await store.findOrCreateJob(
    { name, source: 'test', fingerprint: name, maxParallelism: 3, maxAttempts: 1 },
    async function* () {
      yield { payload: { from: 1 }, items: 5 };
    },
  );
}

test('the jobs list, the job page and the API show the job and its dead letters', async () => {
  const base = await dashboard();
  const list = await request(`${base}/`);
  expect(list.status).toBe(200);
  expect(list.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(list.headers['content-security-policy']).toContain("script-src 'self'");
  expect(list.body).toContain('<a href="/jobs/poisoned">poisoned</a>');
  expect(list.body).toMatch(/status-failed/);
  expect(list.body).toContain('28<span class="muted"> / 30</span>');

  const page = await request(`${base}/jobs/poisoned`);
  expect(page.status).toBe(200);
  for (const label of ['Pause', 'Resume', 'Cancel', 'Replay dead letters', 'Purge dead letters'])
    expect(page.body).toContain(`>${label}</button>`);
  expect(page.body).toContain('<code>item-7</code>');
  expect(page.body).toContain('item 7 is corrupt');
  // Failures grouped with the item number masked.
  expect(page.body).toMatch(/item &lt;n&gt; is corrupt<\/td><td class="num">1<\/td>/);

  const detail = JSON.parse((await request(`${base}/api/jobs/poisoned`)).body);
  expect(detail.summary).toMatchObject({ name: 'poisoned', totalItems: 30, failedItems: 2 });
  expect(detail.deadLetters.total).toBe(2);
  const letter = JSON.parse((await request(`${base}/api/jobs/poisoned/dead-letters/item-7`)).body);
  expect(letter).toMatchObject({ key: 'item-7', payload: { id: 'item-7', n: 7 }, attempts: 3 });

  const search = await request(`${base}/jobs/poisoned?q=gone`);
  expect(search.body).toMatch(/<table class="results">.*item-15/s);
  expect(search.body).not.toMatch(/<table class="results">.*item-7<\/code>/s);

  for (const missing of ['/jobs/nope', '/api/jobs/poisoned/dead-letters/nope', '/nothing'])
    expect((await request(`${base}${missing}`)).status, missing).toBe(404);
  const css = await request(`${base}/assets/dashboard.css`);
  expect([css.status, css.headers['content-type']]).toEqual([200, 'text/css; charset=utf-8']);
  const metrics = await request(`${base}/metrics`);
  expect(metrics.body).toContain('sluice_');
});

test('mounted in Express under a path, every link and asset starts with that path', async () => {
  const handler = createDashboard({ store });
  handlers.push(handler);
  const app = express();
  app.use('/ops/sluice', handler);
  app.get('/', (_req, res) => {
    res.send('the app itself');
  });
  const served = await serve(app);
  stops.push(served.stop);
  for (const path of ['/ops/sluice', '/ops/sluice/']) {
    const list = await request(`${served.url}${path}`);
    expect(list.status, path).toBe(200);
    expect(list.body).toContain('<a href="/ops/sluice/jobs/poisoned">poisoned</a>');
    expect(list.body).toContain('href="/ops/sluice/assets/dashboard.css"');
  }
  const page = await request(`${served.url}/ops/sluice/jobs/poisoned`);
  expect(page.body).toContain('data-events="/ops/sluice/events?job=poisoned"');
  expect((await request(`${served.url}/ops/sluice/assets/dashboard.js`)).status).toBe(200);
  expect((await request(`${served.url}/`)).body).toBe('the app itself');
});

test('with a token, a request without it gets 401; header, query-then-cookie and Bearer pass', async () => {
  const token = 'correct-horse-battery-staple';
  const base = await dashboard({ token });
  for (const path of [
    '/',
    '/jobs/poisoned',
    '/api/jobs',
    '/events',
    '/assets/dashboard.js',
    '/metrics',
  ])
    expect((await request(`${base}${path}`)).status, path).toBe(401);
  expect((await request(`${base}/`, { headers: { 'x-sluice-token': 'wrong' } })).status).toBe(401);
  expect((await request(`${base}/`, { headers: { 'x-sluice-token': token } })).status).toBe(200);
  expect(
    (await request(`${base}/`, { headers: { authorization: `Bearer ${token}` } })).status,
  ).toBe(200);

  // The first page load carries it in the query: a cookie takes over, and the URL loses it.
  const first = await request(`${base}/jobs/poisoned?token=${token}&q=gone`);
  expect(first.status).toBe(303);
  expect(first.headers.location).toBe('/jobs/poisoned?q=gone');
  const cookie = String(first.headers['set-cookie']);
  expect(cookie).toMatch(/HttpOnly/);
  expect(cookie).toMatch(/SameSite=Strict/);
  const again = await request(`${base}/jobs/poisoned?q=gone`, {
    headers: { cookie: cookie.split(';')[0] as string },
  });
  expect(again.status).toBe(200);
  // A token in the query does not authorise an action.
  const post = await request(`${base}/api/jobs/poisoned/actions/purge?token=${token}`, {
    method: 'POST',
    headers: sameSite(base),
  });
  expect(post.status).toBe(401);
});

test('actions: POST only, same-site only, refused when read-only, and a refusal says why', async () => {
  await runningJob('actions');
  const base = await dashboard();
  const pause = `${base}/api/jobs/actions/actions/pause`;
  const status = async () => (await store.findJob('actions'))?.status;

  expect((await request(pause)).status).toBe(405);
  const crossSite = await request(pause, {
    method: 'POST',
    headers: { origin: 'https://evil.example', 'x-sluice-action': '1' },
  });
  expect(crossSite.status).toBe(403);
  // A plain form post from anywhere carries no action header.
  const form = await request(pause, { method: 'POST', headers: { origin: base } });
  expect(form.status).toBe(403);
  const fetchedElsewhere = await request(pause, {
    method: 'POST',
    headers: { 'sec-fetch-site': 'cross-site', 'x-sluice-action': '1' },
  });
  expect(fetchedElsewhere.status).toBe(403);
  expect(await status()).toBe('running');

  const readOnly = await dashboard({ readOnly: true });
  const page = await request(`${readOnly}/jobs/actions`);
  expect(page.body).not.toMatch(/data-action=/);
  const refused = await request(`${readOnly}/api/jobs/actions/actions/pause`, {
    method: 'POST',
    headers: sameSite(readOnly),
  });
  expect([refused.status, refused.body.trim()]).toEqual([
    403,
    'Refused: the dashboard is read-only',
  ]);
  expect(await status()).toBe('running');

  const paused = await request(pause, { method: 'POST', headers: sameSite(base) });
  expect(paused.status, paused.body).toBe(200);
  expect(JSON.parse(paused.body).message).toMatch(/^Paused actions/);
  expect(await status()).toBe('paused');
  const resumed = await request(`${base}/api/jobs/actions/actions/resume`, {
    method: 'POST',
    headers: sameSite(base),
  });
  expect(JSON.parse(resumed.body).message).toMatch(/^Resumed actions/);
  expect(await status()).toBe('running');

  // The store's own reason, in one line.
  const finished = await request(`${base}/api/jobs/poisoned/actions/pause`, {
    method: 'POST',
    headers: sameSite(base),
  });
  expect(finished.status).toBe(409);
  expect(JSON.parse(finished.body)).toEqual({
    error: 'Job `poisoned` is failed; only a running job can be paused',
  });
  expect(
    (
      await request(`${base}/api/jobs/poisoned/actions/explode`, {
        method: 'POST',
        headers: sameSite(base),
      })
    ).status,
  ).toBe(404);
});

test('a connection-string password shows on no page and in no API answer', async () => {
  const [job] = await db.sql<
    { id: string }[]
  >`select id::text from sluice.jobs where name = 'poisoned'`;
  await db.sql`
    insert into sluice.dead_letters (job_id, task_seq, item_key, payload, error, error_stack, attempts)
    values (${job?.id as string}, 0, 'leaky',
      ${db.sql.json({ dsn: 'postgres://app:hunter2@db.internal/shop' })},
      'connect to postgres://app:hunter2@db.internal/shop failed',
      'Error: password=hunter2 refused', 1)`;
  const base = await dashboard();
  const answers = await Promise.all(
    [
      '/',
      '/jobs/poisoned',
      '/jobs/poisoned?q=leaky',
      '/api/jobs/poisoned',
      '/api/jobs/poisoned/dead-letters/leaky',
      '/api/jobs/poisoned/search?q=leaky',
    ].map((p) => request(`${base}${p}`)),
  );
  for (const answer of answers) expect(answer.body).not.toContain('hunter2');
  expect(answers[4]?.body).toContain('postgres://app:***@db.internal/shop');
  const event = await awaitEvent<Record<string, string>>(`${base}/events?job=poisoned`, () => true);
  expect(event.letters).toContain('leaky');
  expect(JSON.stringify(event)).not.toContain('hunter2');
  await db.sql`delete from sluice.dead_letters where item_key = 'leaky'`;
});

test('the live stream pushes a pause made elsewhere', async () => {
  await runningJob('live');
  const base = await dashboard();
  const first = await awaitEvent<Record<string, string>>(`${base}/events?job=live`, () => true);
  expect(first.overview).toContain('status-running');
  const paused = awaitEvent<Record<string, string>>(`${base}/events?job=live`, (s) =>
    (s.overview ?? '').includes('status-paused'),
  );
  await pauseJob(store, 'live');
  expect((await paused).overview).toContain('status-paused');
  const list = await awaitEvent<Record<string, string>>(`${base}/events`, () => true);
  expect(list.jobs).toMatch(/data-job="live".*status-paused/s);
});

test('only the allowed host names are answered', async () => {
  const base = await dashboard({ allowedHosts: ['127.0.0.1', 'localhost'] });
  expect((await request(`${base}/`)).status).toBe(200);
  const rebound = await request(`${base}/`, { headers: { host: 'attacker.example' } });
  expect(rebound.status).toBe(403);
});
