// Markdown tables of the claims bench: per design and claimer count, the repetitions pooled
// (cycles over elapsed time; latency percentiles over every claim), with each cycles/s as a ratio
// to the baseline's at the same concurrency and cap.
import type { CellResult } from './cell.ts';
import type { Design } from './design.ts';
import type { ProbeResult } from './lockProbe.ts';

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

interface Pooled {
  rate: number;
  reps: number[];
  claim: number[];
  complete: number[];
  empty: number;
  maxRunning: number;
  samples: number;
  overCap: number;
  problems: string[];
}

function pool(cells: readonly CellResult[]): Pooled {
  const sorted = (xs: number[]) => xs.sort((a, b) => a - b);
  return {
    rate: cells.reduce((n, c) => n + c.cycles, 0) / cells.reduce((n, c) => n + c.elapsedS, 0),
    reps: cells.map((c) => c.cycles / c.elapsedS),
    claim: sorted(cells.flatMap((c) => c.claimMs)),
    complete: sorted(cells.flatMap((c) => c.completeMs)),
    empty: cells.reduce((n, c) => n + c.empty, 0),
    maxRunning: Math.max(...cells.map((c) => c.maxRunning)),
    samples: cells.reduce((n, c) => n + c.samples, 0),
    overCap: cells.reduce((n, c) => n + c.overCap, 0),
    problems: cells.flatMap((c) => (c.problem ? [c.problem] : [])),
  };
}

export function cellTable(
  title: string,
  results: readonly CellResult[],
  designs: readonly Design[],
  baseline: string,
): string {
  const lines = [
    `### ${title}`,
    '',
    '| claimers | cap | design | cycles/s (each rep) | × baseline | claim p50 / p99 ms | complete p50 / p99 ms | empty claims | running max seen (samples) | cap held |',
    '|---:|---:|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  const shapes = [...new Set(results.map((r) => `${r.claimers}/${r.cap}`))];
  for (const shape of shapes) {
    const [claimers, cap] = shape.split('/').map(Number);
    const at = results.filter((r) => r.claimers === claimers && r.cap === cap);
    const base = pool(at.filter((r) => r.design === baseline)).rate;
    for (const design of designs) {
      const cells = at.filter((r) => r.design === design.key);
      if (cells.length === 0) continue;
      const p = pool(cells);
      const held = !design.capped
        ? 'no cap'
        : p.overCap > 0
          ? `**NO: ${p.overCap} reads over ${cap}**`
          : 'yes';
      const problems = p.problems.length > 0 ? ` **${[...new Set(p.problems)].join('; ')}**` : '';
      lines.push(
        `| ${claimers} | ${cap} | ${design.key} | ${p.rate.toFixed(0)} (${p.reps.map((r) => r.toFixed(0)).join(', ')}) | ${(p.rate / base).toFixed(2)} | ${ms(percentile(p.claim, 50))} / ${ms(percentile(p.claim, 99))} | ${ms(percentile(p.complete, 50))} / ${ms(percentile(p.complete, 99))} | ${p.empty} | ${p.maxRunning} (${p.samples}) | ${held}${problems} |`,
      );
    }
  }
  return lines.join('\n');
}

export function probeTable(probes: readonly ProbeResult[]): string {
  return [
    '### Waits on an open claim (another transaction holds a claim uncommitted)',
    '',
    '| design | completion of another task waits? | outcome insert (FK to the job row) waits? | second claim waits? |',
    '|---|---|---|---|',
    ...probes.map((p) => `| ${p.design} | ${p.complete} | ${p.outcomeInsert} | ${p.secondClaim} |`),
  ].join('\n');
}

export function designList(designs: readonly Design[]): string {
  return designs.map((d) => `- **${d.key}**: ${d.label}`).join('\n');
}
