import { redactSecrets } from '../store/redact.ts';

/** Markup that is already safe: interpolated into `html` as is. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** Text as HTML, with connection-string passwords hidden: every string a page shows passes here. */
export function escapeText(value: string): string {
  return redactSecrets(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function piece(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(piece).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeText(String(value));
}

/**
 * A template tag that escapes every interpolated value unless it is `Html` already; arrays are
 * joined, and `undefined`, `null` and `false` render nothing, so conditions read naturally.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let text = strings[0] ?? '';
  values.forEach((value, i) => {
    text += piece(value) + (strings[i + 1] ?? '');
  });
  return new Html(text);
}

/** JSON for an API answer, with every string's connection-string passwords hidden. */
export function safeJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'string' ? redactSecrets(v) : v));
}
