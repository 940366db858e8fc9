import { count, duration } from './format.ts';

/** One job's line in `sluice status`. */
export interface JobLine {
  job: string;
  status: string;
  itemsDone: number;
  itemsTotal: number;
  itemsFailed: number;
  deadLetters: number;
  /** Items per second, when known: measured between redraws, else the run's average. */
  rate: number | undefined;
  runningTasks: number;
  cap: number;
  startedAt: Date;
  elapsedS: number;
}

interface Column {
  title: string;
  cell: (line: JobLine) => string;
  /** Numbers line up on the right. */
  right?: boolean;
}

function eta(line: JobLine): string {
  const left = line.itemsTotal - line.itemsDone - line.itemsFailed;
  if (line.status !== 'running' || left <= 0 || !line.rate) return '-';
  return duration(left / line.rate);
}

function progress(line: JobLine): string {
  const processed = line.itemsDone + line.itemsFailed;
  const pct = line.itemsTotal > 0 ? Math.floor((100 * processed) / line.itemsTotal) : 100;
  return `${count(processed)}/${count(line.itemsTotal)} ${pct}%`;
}

function started(at: Date): string {
  const local = new Date(at.getTime() - at.getTimezoneOffset() * 60_000).toISOString();
  return `${local.slice(0, 10)} ${local.slice(11, 16)}`;
}

const columns: Column[] = [
  { title: 'JOB', cell: (l) => l.job },
  { title: 'STATUS', cell: (l) => l.status },
  { title: 'PROGRESS', cell: progress, right: true },
  { title: 'FAILED', cell: (l) => count(l.itemsFailed), right: true },
  { title: 'DEAD', cell: (l) => count(l.deadLetters), right: true },
  { title: 'RATE/S', cell: (l) => (l.rate === undefined ? '-' : count(l.rate)), right: true },
  { title: 'ETA', cell: eta, right: true },
  { title: 'ELAPSED', cell: (l) => duration(l.elapsedS), right: true },
  { title: 'RUNNING', cell: (l) => `${l.runningTasks}/${l.cap}`, right: true },
  { title: 'STARTED', cell: (l) => started(l.startedAt) },
];

// Least important first: what a narrow terminal gives up to keep a line from wrapping.
const dropOrder = ['STARTED', 'RUNNING', 'ELAPSED', 'DEAD', 'ETA', 'FAILED', 'RATE/S'];

/**
 * The jobs as a table with a header, no wider than `width` columns: whole columns drop, least
 * important first, then job names are cut with an ellipsis. Without a width (not a terminal),
 * every column shows in full.
 */
export function jobTable(lines: readonly JobLine[], width = Number.POSITIVE_INFINITY): string[] {
  let shown = columns;
  const render = (jobWidth?: number) => {
    const cells = lines.map((line) =>
      shown.map((c) => {
        const text = c.cell(line);
        return c.title === 'JOB' && jobWidth && text.length > jobWidth
          ? `${text.slice(0, jobWidth - 1)}…`
          : text;
      }),
    );
    const widths = shown.map((c, i) =>
      Math.max(c.title.length, ...cells.map((row) => row[i]?.length ?? 0)),
    );
    const pad = (texts: string[]) =>
      texts
        .map((text, i) =>
          shown[i]?.right ? text.padStart(widths[i] ?? 0) : text.padEnd(widths[i] ?? 0),
        )
        .join('  ')
        .trimEnd();
    return [pad(shown.map((c) => c.title)), ...cells.map(pad)];
  };
  const widest = (rows: string[]) => Math.max(...rows.map((row) => row.length));
  let rows = render();
  for (const title of dropOrder) {
    if (widest(rows) <= width) return rows;
    shown = shown.filter((c) => c.title !== title);
    rows = render();
  }
  const over = widest(rows) - width;
  if (over <= 0) return rows;
  const jobWidth = Math.max(4, Math.max(...lines.map((l) => l.job.length), 3) - over);
  return render(jobWidth).map((row) => row.slice(0, width));
}
