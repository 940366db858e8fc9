import { type Html, html } from '../html.ts';
import type { JobSummary } from '../model.ts';
import { ago, count, elapsed, empty, eta, progressBar, rate, statusBadge } from './format.ts';
import { live, page } from './layout.ts';

/** The jobs list's live region: one table, re-rendered whole as counts change. */
export function jobsTable(jobs: readonly JobSummary[], base: string, now: Date): Html {
  if (jobs.length === 0) return empty('No jobs yet; start one with `sluice run <job.ts>`.');
  return html`<table class="jobs">
<thead><tr>
  <th scope="col">Job</th><th scope="col">Status</th><th scope="col">Progress</th>
  <th scope="col" class="num">Done</th><th scope="col" class="num">Failed</th>
  <th scope="col" class="num">Rate</th><th scope="col" class="num">ETA</th>
  <th scope="col">Started</th><th scope="col" class="num">Elapsed</th>
  <th scope="col" class="num">Cap</th><th scope="col" class="num">Processes</th>
</tr></thead>
<tbody>
${jobs.map(
  (job) => html`<tr data-job="${job.name}">
  <th scope="row"><a href="${base}jobs/${encodeURIComponent(job.name)}">${job.name}</a></th>
  <td>${statusBadge(job)}</td>
  <td>${progressBar(job)}</td>
  <td class="num">${count(job.doneItems)}<span class="muted"> / ${count(job.totalItems)}</span></td>
  <td class="num${job.failedItems > 0 ? ' bad' : ''}">${count(job.failedItems)}</td>
  <td class="num">${rate(job.ratePerSecond)}</td>
  <td class="num">${eta(job)}</td>
  <td>${ago(job.startedAt, now)}</td>
  <td class="num">${elapsed(job, now)}</td>
  <td class="num">${job.maxParallelism}</td>
  <td class="num">${job.processes}</td>
</tr>`,
)}
</tbody>
</table>`;
}

export function jobsPage(
  jobs: readonly JobSummary[],
  options: { base: string; readOnly: boolean },
): string {
  return page({
    ...options,
    title: 'Jobs',
    events: 'events',
    body: html`<h1>Jobs</h1>${live('jobs', jobsTable(jobs, options.base, new Date()))}`,
  });
}
