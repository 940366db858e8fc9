// A user-profile API with a requests-per-second quota, for the API enrichment example and its
// tests. `node --import tsx examples/peers/api.ts --port 8787 --requests-per-window 200` prints
// its URL; `GET /stats` returns the same records as `peer.stats()`.
import { type Peer, pause, sendJson, sendTooManyRequests, startHttpPeer } from './httpPeer.ts';
import {
  isMainModule,
  type ListenOptions,
  nonEmptyText,
  resolveOptions,
  serveFromCommandLine,
  wholeNumber,
} from './peerOptions.ts';
import { pick, stableHash } from './stableHash.ts';
import { SlidingWindow } from './window.ts';

export interface ApiPeerOptions extends ListenOptions {
  /** Accepted requests allowed in any sliding window of `windowMs`: 200 per second by default. */
  requestsPerWindow?: number;
  /** Length of the quota window. Default 1000; tests use a longer one to make bursts exact. */
  windowMs?: number;
  /** Token every request must send as `Authorization: Bearer <token>`. Default `'test-token'`. */
  token?: string;
  /** Time an accepted request takes before it is answered. Default 0. */
  latencyMs?: number;
}

export const apiPeerDefaults = {
  port: 0,
  requestsPerWindow: 200,
  windowMs: 1000,
  token: 'test-token',
  latencyMs: 0,
} satisfies Required<ApiPeerOptions>;

export interface ApiPeerStats {
  /** Requests admitted under the quota, 404s included: they used quota too. */
  accepted: number;
  rejected429: number;
  notFound: number;
  unauthorized: number;
  /** The most accepted requests in any sliding window of `windowMs`. */
  worstWindow: number;
  /** `performance.now()` of every accepted request, in arrival order. */
  acceptedAt: number[];
  /** `performance.now()` of every 429. */
  rejectedAt: number[];
}

export interface UserProfile {
  id: number;
  name: string;
  email: string;
  plan: 'free' | 'team' | 'enterprise';
  country: string;
  signupYear: number;
}

const firstNames = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken'];
const lastNames = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen'];
const plans = ['free', 'team', 'enterprise'] as const;
const countries = ['DE', 'FR', 'GB', 'IN', 'JP', 'NG', 'US', 'BR'];

/** Whether user `id` exists: positive integers, except every multiple of 997. */
export function userExists(id: number): boolean {
  return Number.isSafeInteger(id) && id >= 1 && id % 997 !== 0;
}

/** The profile the API serves for `id`, the same on every run; undefined where it answers 404. */
export function userProfile(id: number): UserProfile | undefined {
  if (!userExists(id)) return undefined;
  const hash = stableHash(id);
  const first = pick(firstNames, hash);
  return {
    id,
    name: `${first} ${pick(lastNames, hash, 8)}`,
    email: `${first.toLowerCase()}.${id}@example.test`,
    plan: pick(plans, hash, 16),
    country: pick(countries, hash, 20),
    signupYear: 2010 + ((hash >>> 24) % 15),
  };
}

export async function startApiPeer(given: ApiPeerOptions = {}): Promise<Peer<ApiPeerStats>> {
  const options = resolveOptions(given, apiPeerDefaults, {
    port: wholeNumber(0),
    requestsPerWindow: wholeNumber(1),
    windowMs: wholeNumber(1),
    token: nonEmptyText,
    latencyMs: wholeNumber(0),
  });
  const quota = new SlidingWindow(options.windowMs, options.requestsPerWindow);
  const acceptedAt: number[] = [];
  const rejectedAt: number[] = [];
  let notFound = 0;
  let unauthorized = 0;

  const stats = (): ApiPeerStats => ({
    accepted: acceptedAt.length,
    rejected429: rejectedAt.length,
    notFound,
    unauthorized,
    worstWindow: quota.worst,
    acceptedAt: [...acceptedAt],
    rejectedAt: [...rejectedAt],
  });

  return startHttpPeer(
    options.port,
    async ({ req, res, path, signal }) => {
      const match = /^\/v1\/users\/([^/]+)$/.exec(path);
      if (!match) return sendJson(res, 404, { error: 'not_found', message: `No route ${path}` });
      if (req.method !== 'GET') return sendJson(res, 405, { error: 'method_not_allowed' });
      // Authentication comes before the quota, as at most real APIs: a bad token costs no quota.
      if (req.headers.authorization !== `Bearer ${options.token}`) {
        unauthorized += 1;
        return sendJson(res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' });
      }
      // Decided synchronously at one instant, so concurrent requests cannot both take the last slot.
      const now = performance.now();
      const waitMs = quota.tryTake(now);
      if (waitMs > 0) {
        rejectedAt.push(now);
        return sendTooManyRequests(res, waitMs, {
          error: 'rate_limited',
          message: `Over ${options.requestsPerWindow} requests per ${options.windowMs} ms`,
          retryAfterMs: Math.ceil(waitMs),
        });
      }
      acceptedAt.push(now);
      if (!(await pause(options.latencyMs, signal))) return;
      const idText = match[1] as string;
      const profile = /^[1-9]\d{0,15}$/.test(idText) ? userProfile(Number(idText)) : undefined;
      if (!profile) {
        notFound += 1;
        return sendJson(res, 404, { error: 'not_found', message: `No user ${idText}` });
      }
      sendJson(res, 200, profile);
    },
    stats,
  );
}

if (isMainModule(import.meta.url)) await serveFromCommandLine(apiPeerDefaults, startApiPeer);
