import { type Html, html } from '../html.ts';

export interface PageOptions {
  title: string;
  /** Where the dashboard is mounted, ending in `/`: every link starts here. */
  base: string;
  /** What the page's live stream follows (`events` or `events?job=…`). */
  events: string;
  readOnly: boolean;
  /** The job a job page shows, for its script's requests. */
  job?: string;
  body: Html;
}

/** The page shell: the stylesheet and the one small script, both served from the package. */
export function page(options: PageOptions): string {
  const { base } = options;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · sluice</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${base}assets/dashboard.css">
<script src="${base}assets/dashboard.js" defer></script>
</head>
<body data-base="${base}" data-events="${base}${options.events}" data-job="${options.job ?? ''}">
<header class="top">
  <a class="brand" href="${base}">sluice</a>
  <span class="muted">dashboard</span>
  ${options.readOnly ? html`<span class="tag">read-only</span>` : ''}
  <span class="live" data-live-state>connecting…</span>
</header>
<main>
${options.body}
</main>
</body>
</html>
`.text;
}

/** A region the live stream replaces when what it shows changes. */
export function live(id: string, content: Html): Html {
  return html`<div data-live="${id}">${content}</div>`;
}
