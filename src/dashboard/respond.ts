import type { ServerResponse } from 'node:http';
import { safeJson } from './html.ts';

/**
 * Sent with every answer. The policy allows only the dashboard's own stylesheet and script: no
 * inline script or style, no other origin, and no framing (clickjacking a Cancel button).
 * `no-referrer` keeps a `?token=` out of any Referer header.
 */
const securityHeaders = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(securityHeaders)) res.setHeader(name, value);
}

export function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8`, ...headers });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json', safeJson(value));
}

/** A plain one-line answer, for errors and refusals. */
export function sendText(res: ServerResponse, status: number, line: string): void {
  send(res, status, 'text/plain', `${line}\n`);
}
