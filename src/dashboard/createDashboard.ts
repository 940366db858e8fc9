import type { IncomingMessage, ServerResponse } from 'node:http';
import { InputError } from '../errors.ts';
import { metricsHandler } from '../observe/metrics/handler.ts';
import type { Store } from '../store/index.ts';
import { redactSecrets } from '../store/redact.ts';
import { isAction, runAction } from './actions.ts';
import { asset } from './assets.ts';
import { LiveHub } from './live.ts';
import type { DashboardReader } from './model.ts';
import { storeReader } from './reader.ts';
import { send, sendJson, sendText, setSecurityHeaders } from './respond.ts';
import {
  checkToken,
  expectedDigest,
  hostAllowed,
  isSameOrigin,
  tokenCookieHeader,
} from './security.ts';
import { jobPage } from './views/jobPage.ts';
import { jobSections } from './views/jobSections.ts';
import { jobsPage, jobsTable } from './views/jobsPage.ts';

export interface DashboardOptions {
  /** The state store the workers write; the dashboard reads it and keeps no state of its own. */
  store: Store;
  /**
   * When set, every request must carry it: the `X-Sluice-Token` header, `Authorization: Bearer`,
   * or `?token=` once on a page load, which sets an HttpOnly, SameSite=Strict cookie.
   * Default: none (fine on 127.0.0.1; `sluice dashboard` requires one on any other address).
   */
  token?: string;
  /** Hides every action, and refuses them with 403. Default: false. */
  readOnly?: boolean;
  /** Host header names answered; others get 403 (DNS rebinding). Default: any. */
  allowedHosts?: readonly string[];
  /**
   * The path the dashboard is mounted at, such as `/ops/sluice`. Default: what Express's
   * `app.use(path, …)` stripped from the URL, else `/`.
   */
  basePath?: string;
}

/** A standard Node request handler, for `node:http`, Express (`app.use`) or Fastify (raw). */
export interface DashboardHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  /** Ends the live streams of open pages and stops listening for status changes. */
  close(): Promise<void>;
}

type Route = (req: IncomingMessage, res: ServerResponse, url: URL, base: string) => Promise<void>;

/**
 * The dashboard as a request handler. Pages are rendered on the server, with one small script
 * for live updates and the action buttons: no framework bundle to ship, nothing to build, and a
 * page is readable the moment it arrives.
 */
export function createDashboard(options: DashboardOptions): DashboardHandler {
  const { store } = options;
  const readOnly = options.readOnly ?? false;
  const expected = options.token === undefined ? undefined : expectedDigest(options.token);
  const reader: DashboardReader = storeReader(store);
  const hub = new LiveHub(
    (onChange) => store.listenJobs(onChange),
    () => {
      // A failed read shows as a stale page; the next tick reads again.
    },
  );

  // Prometheus scrapes through the same token and host checks as the pages (a Bearer token works).
  let metrics: ReturnType<typeof metricsHandler> | undefined;

  const pages: Route = async (req, res, url, base) => {
    const parts = pathParts(url);
    if (!parts) return sendText(res, 400, 'Malformed path');
    const [first, second, third, fourth, fifth] = parts;
    if (req.method === 'POST' && first === 'api' && second === 'jobs' && fourth === 'actions')
      return act(req, res, third as string, fifth as string);
    if (first === 'api' && fourth === 'actions') return methodNotAllowed(res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET');
    if (parts.length === 0) {
      return send(res, 200, 'text/html', jobsPage(await reader.jobs(), { base, readOnly }));
    }
    if (first === 'assets' && parts.length === 2) {
      const file = asset(second as string);
      if (!file) return sendText(res, 404, 'No such asset');
      // Assets change only with the package, but a stale script would break a page: revalidate.
      return send(res, 200, file.type, file.body);
    }
    if (first === 'metrics' && parts.length === 1) {
      metrics ??= metricsHandler(store);
      return metrics(req, res);
    }
    if (first === 'events' && parts.length === 1) return events(res, url, base);
    if (first === 'jobs' && parts.length === 2) return page(res, second as string, url, base);
    if (first === 'api' && second === 'jobs') return api(res, parts.slice(2), url);
    return sendText(res, 404, 'Not found');
  };

  const page = async (res: ServerResponse, name: string, url: URL, base: string) => {
    const job = await reader.job(name);
    if (!job) return sendText(res, 404, `No job named \`${name}\``);
    const text = url.searchParams.get('q')?.trim().slice(0, 200);
    const search = text ? { text, hits: (await reader.search(name, text)) ?? [] } : undefined;
    send(res, 200, 'text/html', jobPage(job, { base, readOnly, search }));
  };

  const api = async (res: ServerResponse, parts: string[], url: URL) => {
    const [name, what, key] = parts;
    if (name === undefined) return sendJson(res, 200, { jobs: await reader.jobs() });
    let answer: unknown;
    if (what === undefined) answer = await reader.job(name);
    else if (what === 'dead-letters' && key !== undefined && parts.length === 3)
      answer = await reader.deadLetter(name, key);
    else if (what === 'search' && parts.length === 2)
      answer = await reader.search(name, url.searchParams.get('q')?.slice(0, 200) ?? '');
    else return sendText(res, 404, 'Not found');
    if (answer === undefined) return sendText(res, 404, `Not found in job \`${name}\``);
    sendJson(res, 200, answer);
  };

  const events = (res: ServerResponse, url: URL, base: string) => {
    const name = url.searchParams.get('job');
    const now = () => new Date();
    const render = async () => {
      if (name === null) return { jobs: jobsTable(await reader.jobs(), base, now()).text };
      const job = await reader.job(name);
      if (!job) return undefined;
      const sections = jobSections(job, now());
      return Object.fromEntries(Object.entries(sections).map(([id, h]) => [id, h.text]));
    };
    hub.subscribe(`${base}\n${name ?? ''}`, render, res);
  };

  const act = async (req: IncomingMessage, res: ServerResponse, job: string, action: string) => {
    if (!isSameOrigin(req)) return sendText(res, 403, 'Refused: a cross-site request');
    if (readOnly) return sendText(res, 403, 'Refused: the dashboard is read-only');
    if (!isAction(action)) return sendText(res, 404, `No action \`${action}\``);
    try {
      sendJson(res, 200, { message: await runAction(store, action, job) });
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      sendJson(res, 409, { error: error.message });
    }
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    setSecurityHeaders(res);
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const base = options.basePath ? withSlash(options.basePath) : mountBase(req, url);
    if (!hostAllowed(req, options.allowedHosts))
      return sendText(res, 403, 'Refused: this host name is not served here');
    if (expected) {
      const check = checkToken(req, url, expected);
      if (!check.ok) return sendText(res, 401, 'A token is required: open the link with ?token=');
      if (check.fromQuery) {
        // The token moves to a cookie, and out of the address bar and the history.
        url.searchParams.delete('token');
        const location = `${base}${url.pathname.slice(1)}${url.search}`;
        return send(res, 303, 'text/plain', 'See Other\n', {
          'set-cookie': tokenCookieHeader(options.token as string, base),
          location,
        });
      }
    }
    pages(req, res, url, base).catch((error: unknown) => {
      if (res.headersSent) return res.end();
      const message = error instanceof Error ? error.message : String(error);
      sendText(res, 500, `sluice dashboard: ${redactSecrets(message)}`);
    });
  };
  return Object.assign(handler, { close: () => hub.close() });
}

function methodNotAllowed(res: ServerResponse, allow = 'POST'): void {
  send(res, 405, 'text/plain', `Method not allowed; use ${allow}\n`, { allow });
}

/** The path's segments, decoded one by one so a job name may hold a `/`; undefined if malformed. */
function pathParts(url: URL): string[] | undefined {
  try {
    return url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

function withSlash(path: string): string {
  return path.endsWith('/') ? path : `${path}/`;
}

/** Where Express mounted the handler: the part of `originalUrl` it stripped from `url`. */
function mountBase(req: IncomingMessage, url: URL): string {
  const original = (req as { originalUrl?: string }).originalUrl;
  if (!original) return '/';
  const originalPath = original.split('?')[0] ?? '';
  if (url.pathname === '/' && !originalPath.endsWith('/')) return `${originalPath}/`;
  return withSlash(originalPath.slice(0, originalPath.length - url.pathname.length) || '/');
}
