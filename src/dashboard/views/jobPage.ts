import { type Html, html } from '../html.ts';
import type { JobDetail, SearchHit } from '../model.ts';
import { empty, exact, firstLine } from './format.ts';
import { jobSections } from './jobSections.ts';
import { live, page } from './layout.ts';

interface JobPageOptions {
  base: string;
  readOnly: boolean;
  /** The search the page was asked for, and what it found. */
  search?: { text: string; hits: SearchHit[] };
}

/**
 * The actions, each a POST through the store functions the CLI uses. `confirm` marks the ones
 * that cannot be undone: the page asks before it sends them.
 */
const actions: { action: string; label: string; confirm?: string }[] = [
  { action: 'pause', label: 'Pause' },
  { action: 'resume', label: 'Resume' },
  { action: 'cancel', label: 'Cancel', confirm: 'Cancel this job? Running tasks are aborted.' },
  { action: 'replay', label: 'Replay dead letters' },
  {
    action: 'purge',
    label: 'Purge dead letters',
    confirm: 'Delete every dead letter of this job? They cannot be brought back.',
  },
];

function toolbar(job: string): Html {
  return html`<div class="toolbar" role="group" aria-label="Actions on ${job}">
${actions.map(
  (a) =>
    html`<button type="button" data-action="${a.action}" data-confirm="${a.confirm ?? ''}"
  class="${a.action === 'cancel' || a.action === 'purge' ? 'danger' : ''}">${a.label}</button>`,
)}
<p class="notice" role="status" aria-live="polite" data-notice></p>
</div>`;
}

function searchForm(job: string, base: string, search: JobPageOptions['search']): Html {
  return html`<form class="search" method="get" action="${base}jobs/${encodeURIComponent(job)}#search" role="search">
  <label for="q">Find an item by key or error</label>
  <input id="q" name="q" type="search" value="${search?.text ?? ''}" placeholder="item-42, timeout…">
  <button type="submit">Search</button>
</form>
${search ? searchResults(search.hits) : ''}`;
}

function searchResults(hits: readonly SearchHit[]): Html {
  if (hits.length === 0) return empty('Nothing matches.');
  return html`<table class="results"><thead><tr><th scope="col">Key</th><th scope="col">Found in</th>
<th scope="col">Outcome</th><th scope="col">Error</th><th scope="col">When</th></tr></thead>
<tbody>${hits.map(
    (h) => html`<tr><td><code>${h.key}</code></td><td>${h.kind}</td>
<td>${h.ok ? html`<span class="ok">ok</span>` : html`<span class="bad">failed</span>`}</td>
<td class="error">${firstLine(h.error)}</td><td>${h.at ? exact(h.at) : '—'}</td></tr>`,
  )}</tbody></table>`;
}

function section(title: string, id: string, content: Html): Html {
  return html`<section aria-labelledby="h-${id}"><h2 id="h-${id}">${title}</h2>${live(id, content)}</section>`;
}

export function jobPage(job: JobDetail, options: JobPageOptions): string {
  const name = job.summary.name;
  const s = jobSections(job, new Date());
  return page({
    base: options.base,
    readOnly: options.readOnly,
    title: name,
    job: name,
    events: `events?job=${encodeURIComponent(name)}`,
    body: html`<nav class="crumbs"><a href="${options.base}">Jobs</a> / <span>${name}</span></nav>
<h1>${name}</h1>
${options.readOnly ? '' : toolbar(name)}
${live('overview', s.overview as Html)}
<div class="columns">
  ${section('Throughput', 'chart', s.chart as Html)}
  ${section('Tasks by state', 'tasks', s.tasks as Html)}
</div>
${section('Running tasks', 'running', s.running as Html)}
${section('Processes', 'processes', s.processes as Html)}
${section('Failures by error', 'groups', s.groups as Html)}
${section('Failed tasks', 'failed', s.failed as Html)}
${section('Dead letters', 'letters', s.letters as Html)}
<section id="search" aria-labelledby="h-search"><h2 id="h-search">Search</h2>
${searchForm(name, options.base, options.search)}</section>
<dialog data-payload-dialog aria-labelledby="payload-title">
  <h2 id="payload-title">Payload</h2>
  <pre data-payload-body></pre>
  <form method="dialog"><button type="submit">Close</button></form>
</dialog>`,
  });
}
