import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/** A running peer: a plain HTTP server on 127.0.0.1 with server-side records of what it saw. */
export interface Peer<Stats> {
  /** Base URL with no trailing slash, such as `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /** A snapshot of the server-side records; also served as JSON at `GET /stats`. */
  stats(): Stats;
  /** Stops listening, drops open connections and cancels pending delays; idempotent. */
  close(): Promise<void>;
}

export interface PeerRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly path: string;
  /** Which TCP connection carried the request, counted from 1 per peer. */
  readonly connectionId: number;
  /** `performance.now()` when the request arrived. */
  readonly arrivedAt: number;
  /** Aborted when the peer closes, so delays do not hold the process open. */
  readonly signal: AbortSignal;
}

export type PeerHandler = (request: PeerRequest) => void | Promise<void>;

/** Starts `handler` on 127.0.0.1; `GET /health` and `GET /stats` are answered for every peer. */
export async function startHttpPeer<Stats>(
  port: number,
  handler: PeerHandler,
  stats: () => Stats,
): Promise<Peer<Stats>> {
  const closing = new AbortController();
  // Every pending delay listens for close; hundreds at once is normal for a peer, not a leak.
  setMaxListeners(Infinity, closing.signal);
  const connectionIds = new WeakMap<Socket, number>();
  let connectionsSeen = 0;

  const server = createServer((req, res) => {
    const arrivedAt = performance.now();
    const path = new URL(req.url ?? '/', 'http://peer').pathname;
    if (path === '/health') return sendJson(res, 200, { ok: true });
    if (path === '/stats') return sendJson(res, 200, stats());
    const connectionId = connectionIds.get(req.socket) ?? 0;
    const request = { req, res, path, connectionId, arrivedAt, signal: closing.signal };
    Promise.resolve()
      .then(() => handler(request))
      .catch((error: unknown) => {
        if (res.headersSent) res.destroy();
        else sendJson(res, 500, { error: error instanceof Error ? error.message : String(error) });
      });
  });
  server.on('connection', (socket) => {
    connectionsSeen += 1;
    connectionIds.set(socket, connectionsSeen);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;

  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    stats,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        closing.abort();
        server.close((error) => (error ? reject(error) : resolve()));
        // close() alone waits for keep-alive and slow responses; a test peer should stop now.
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | number> = {},
): void {
  sendText(res, status, JSON.stringify(body), 'application/json', headers);
}

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  contentType: string,
  headers: Record<string, string | number> = {},
): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * 429 with `Retry-After` in whole seconds (what HTTP clients understand) and `Retry-After-Ms` for
 * clients that can honour the exact wait, as some model providers send.
 */
export function sendTooManyRequests(res: ServerResponse, waitMs: number, body: unknown): void {
  sendJson(res, 429, body, {
    'retry-after': retryAfterSeconds(waitMs),
    'retry-after-ms': Math.ceil(waitMs),
  });
}

/** Retry-After in whole seconds, rounded up and at least 1, so waiting it is always enough. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}

/** Resolves true after `ms`, or false as soon as the peer closes. */
export async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (ms <= 0) return true;
  return delay(ms, true, { signal }).catch(() => false);
}

/** The request body as text, or undefined when it is longer than `limitBytes`. */
export async function readBody(
  req: IncomingMessage,
  limitBytes: number,
): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limitBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
