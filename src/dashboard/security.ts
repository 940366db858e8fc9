import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The cookie a first page load with `?token=` sets, so later requests need not carry it. */
export const tokenCookie = 'sluice_dashboard';
/** The header scripts and tools send the token in (or `Authorization: Bearer`). */
export const tokenHeader = 'x-sluice-token';
/**
 * The header every action must carry. A cross-site page cannot send a custom header without a
 * CORS preflight, which this server never answers, so a forged form or fetch is refused.
 */
export const actionHeader = 'x-sluice-action';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Compares a presented token with the expected one in constant time: both are hashed first, so the
 * comparison runs over equal lengths and says nothing about the token's length or its prefix.
 */
export function tokenMatches(presented: string | undefined, expected: Buffer): boolean {
  if (presented === undefined) return false;
  return timingSafeEqual(digest(presented), expected);
}

export function expectedDigest(token: string): Buffer {
  return digest(token);
}

export type TokenCheck = { ok: true; fromQuery: boolean } | { ok: false };

/** Where a request may carry the token: header, cookie, or `?token=` on a page load. */
export function checkToken(req: IncomingMessage, url: URL, expected: Buffer): TokenCheck {
  const header = req.headers[tokenHeader];
  if (typeof header === 'string' && tokenMatches(header, expected))
    return { ok: true, fromQuery: false };
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (tokenMatches(bearer, expected)) return { ok: true, fromQuery: false };
  if (tokenMatches(readCookie(req, tokenCookie), expected)) return { ok: true, fromQuery: false };
  const query = url.searchParams.get('token') ?? undefined;
  if (req.method === 'GET' && tokenMatches(query, expected)) return { ok: true, fromQuery: true };
  return { ok: false };
}

/** HttpOnly (scripts cannot read it), SameSite=Strict (no other site's request carries it). */
export function tokenCookieHeader(token: string, path: string): string {
  return `${tokenCookie}=${encodeURIComponent(token)}; Path=${path}; HttpOnly; SameSite=Strict`;
}

function readCookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) {
      try {
        return decodeURIComponent(value.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * Whether a state-changing request comes from the dashboard's own pages: it carries the action
 * header, and a browser's Origin (or Sec-Fetch-Site) names this very host. A tool such as curl
 * sends neither Origin nor Sec-Fetch-Site, and passes on the header (and the token) alone.
 */
export function isSameOrigin(req: IncomingMessage): boolean {
  if (req.headers[actionHeader] === undefined) return false;
  const host = req.headers.host;
  const origin = req.headers.origin;
  if (origin !== undefined) {
    try {
      return host !== undefined && new URL(origin).host === host;
    } catch {
      return false;
    }
  }
  const site = req.headers['sec-fetch-site'];
  return site === undefined || site === 'same-origin';
}

/**
 * Whether the Host header names one of `allowed`: on a loopback address without a token, this is
 * what stops a web page from reaching the dashboard through a name it re-points at 127.0.0.1
 * (DNS rebinding).
 */
export function hostAllowed(req: IncomingMessage, allowed: readonly string[] | undefined): boolean {
  if (!allowed) return true;
  const host = req.headers.host;
  if (!host) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
  return allowed.includes((name ?? '').toLowerCase());
}

/** The host names a loopback-only dashboard answers to. */
export const loopbackNames = ['127.0.0.1', 'localhost', '[::1]'] as const;
