import { type Html, html } from '../html.ts';
import type { JobDetail } from '../model.ts';
import { throughputChart } from './chart.ts';
import {
  ago,
  count,
  elapsed,
  empty,
  eta,
  exact,
  firstLine,
  progressBar,
  rate,
  statusBadge,
} from './format.ts';

/**
 * The job page's live regions, by id. The page renders each once; the live stream sends again
 * those whose markup changed, so one render path serves both.
 */
export function jobSections(job: JobDetail, now: Date): Record<string, Html> {
  return {
    overview: overview(job, now),
    chart: throughputChart(job.throughput),
    tasks: tasks(job),
    running: running(job, now),
    processes: processes(job, now),
    failed: failed(job),
    groups: groups(job),
    letters: letters(job),
  };
}

function overview(job: JobDetail, now: Date): Html {
  const s = job.summary;
  return html`<div class="overview">
  <p class="headline">${statusBadge(s)} ${s.statusReason ? html`<span class="reason">${s.statusReason}</span>` : ''}</p>
  ${progressBar(s)}
  <dl class="stats">
    <div><dt>Done ${s.unit}</dt><dd>${count(s.doneItems)} <span class="muted small">/ ${count(s.totalItems)}</span></dd></div>
    <div><dt>Failed</dt><dd class="${s.failedItems > 0 ? 'bad' : ''}">${count(s.failedItems)}</dd></div>
    <div><dt>Rate</dt><dd>${rate(s.ratePerSecond)}</dd></div>
    <div><dt>ETA</dt><dd>${eta(s)}</dd></div>
    <div><dt>Started</dt><dd>${ago(s.startedAt, now)}</dd></div>
    <div><dt>Elapsed</dt><dd>${elapsed(s, now)}</dd></div>
    <div><dt>Cap</dt><dd>${s.maxParallelism}</dd></div>
    <div><dt>Processes</dt><dd>${s.processes}</dd></div>
  </dl>
  <p class="muted small">source: ${job.source}</p>
</div>`;
}

function tasks(job: JobDetail): Html {
  const states = Object.entries(job.tasks) as [string, number][];
  return html`<ul class="states">${states.map(
    ([state, n]) =>
      html`<li class="state-${state}"><span class="n">${count(n)}</span> ${state}</li>`,
  )}</ul>`;
}

function running(job: JobDetail, now: Date): Html {
  if (job.running.length === 0) return empty('No task is running.');
  return html`<table><thead><tr><th scope="col" class="num">Task</th><th scope="col">Host</th>
<th scope="col" class="num">PID</th><th scope="col">Since</th><th scope="col" class="num">Attempt</th></tr></thead>
<tbody>${job.running.map(
    (
      t,
    ) => html`<tr><td class="num">${t.seq}</td><td>${t.host ?? '—'}</td><td class="num">${t.pid ?? '—'}</td>
<td>${ago(t.since, now)}</td><td class="num">${t.attempt}</td></tr>`,
  )}</tbody></table>`;
}

function processes(job: JobDetail, now: Date): Html {
  if (job.processes.length === 0) return empty('No process is working on this job.');
  return html`<table><thead><tr><th scope="col">Host</th><th scope="col" class="num">PID</th>
<th scope="col">Started</th><th scope="col">Last seen</th><th scope="col" class="num">Tasks held</th></tr></thead>
<tbody>${job.processes.map(
    (
      p,
    ) => html`<tr><td>${p.host ?? '—'}${p.alive ? '' : html` <span class="tag bad" title="its lock is gone: its tasks are being reclaimed">gone</span>`}</td>
<td class="num">${p.pid ?? '—'}</td><td>${ago(p.startedAt, now)}</td>
<td>${ago(p.lastSeenAt, now)}</td><td class="num">${p.tasksHeld}</td></tr>`,
  )}</tbody></table>`;
}

function failed(job: JobDetail): Html {
  if (job.failed.length === 0) return empty('No task failed.');
  return html`<table><thead><tr><th scope="col" class="num">Task</th><th scope="col" class="num">Attempts</th>
<th scope="col">Error</th></tr></thead>
<tbody>${job.failed.map(
    (t) => html`<tr><td class="num">${t.seq}</td><td class="num">${t.attempts}</td>
<td><details><summary class="error">${firstLine(t.error)}</summary><pre>${t.stack ?? t.error ?? ''}</pre></details></td></tr>`,
  )}</tbody></table>`;
}

function groups(job: JobDetail): Html {
  if (job.failureGroups.length === 0) return empty('No failures to group.');
  return html`<table><thead><tr><th scope="col">Error</th><th scope="col" class="num">Count</th>
<th scope="col">Sample keys</th></tr></thead>
<tbody>${job.failureGroups.map(
    (g) => html`<tr><td class="error">${g.message}</td><td class="num">${count(g.count)}</td>
<td>${g.sampleKeys.map((k) => html`<code>${k}</code> `)}</td></tr>`,
  )}</tbody></table>`;
}

function letters(job: JobDetail): Html {
  const { total, letters } = job.deadLetters;
  if (total === 0) return empty('No dead letters.');
  const more = total > letters.length ? ` (the first ${letters.length} by key)` : '';
  return html`<p class="muted small">${count(total)} dead letter(s)${more}</p>
<table><thead><tr><th scope="col">Key</th><th scope="col">Error</th><th scope="col" class="num">Attempts</th>
<th scope="col">Last failed</th><th scope="col"><span class="visually-hidden">Payload</span></th></tr></thead>
<tbody>${letters.map(
    (l) => html`<tr><td><code>${l.key}</code></td><td class="error">${firstLine(l.error)}</td>
<td class="num">${l.attempts}</td><td>${exact(l.lastFailedAt)}</td>
<td><button type="button" class="link" data-payload="${l.key}" aria-label="Show payload of ${l.key}">Payload</button></td></tr>`,
  )}</tbody></table>`;
}
