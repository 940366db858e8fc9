import { count, duration } from '../../observe/format.ts';
import { type Html, html } from '../html.ts';
import type { JobSummary } from '../model.ts';

export { count, duration };

/** A moment as `12s ago`, with the exact time on hover. */
export function ago(at: Date | null, now: Date): Html {
  if (!at) return html`<span class="muted">—</span>`;
  const seconds = (now.getTime() - at.getTime()) / 1000;
  return html`<time datetime="${at.toISOString()}" title="${exact(at)}">${duration(seconds)} ago</time>`;
}

/** `2025-01-31 14:03:07 UTC`. */
export function exact(at: Date): string {
  return `${at.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function rate(perSecond: number | undefined): Html {
  if (perSecond === undefined) return html`<span class="muted">—</span>`;
  const shown = perSecond >= 100 ? count(perSecond) : perSecond.toFixed(1);
  return html`${shown}/s`;
}

export function eta(job: JobSummary): Html {
  if (job.status !== 'running' || job.etaSeconds === undefined)
    return html`<span class="muted">—</span>`;
  return html`${duration(job.etaSeconds)}`;
}

export function elapsed(job: JobSummary, now: Date): string {
  const end = job.finishedAt ?? now;
  return duration((end.getTime() - job.startedAt.getTime()) / 1000);
}

export function statusBadge(job: Pick<JobSummary, 'status' | 'statusReason'>): Html {
  return html`<span class="status status-${job.status}" title="${job.statusReason ?? ''}">${job.status}</span>`;
}

/**
 * Done (green) and failed (red) shares of the job's items, as SVG: sized by attributes, so the
 * page's Content-Security-Policy needs no inline styles.
 */
export function progressBar(job: JobSummary): Html {
  const total = Math.max(job.totalItems, job.doneItems + job.failedItems, 1);
  const done = (100 * job.doneItems) / total;
  const failed = (100 * job.failedItems) / total;
  const label = `${Math.floor(done + failed)}%`;
  return html`<span class="progress" role="progressbar" aria-label="${job.name} progress"
    aria-valuemin="0" aria-valuemax="100" aria-valuenow="${Math.floor(done + failed)}"
    ><svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true"
      ><rect class="bar-track" width="100" height="8"
      /><rect class="bar-done" width="${done.toFixed(2)}" height="8"
      /><rect class="bar-failed" x="${done.toFixed(2)}" width="${failed.toFixed(2)}" height="8"
    /></svg><span class="progress-label">${label}</span></span>`;
}

/** The first line of an error, for a table cell; the rest is behind a disclosure. */
export function firstLine(text: string | null): string {
  return (text ?? '').split('\n', 1)[0] ?? '';
}

export function empty(message: string): Html {
  return html`<p class="empty">${message}</p>`;
}
