// A reader of the Prometheus text exposition format (version 0.0.4), for the metrics tests: the
// families with their HELP and TYPE, and every sample with its labels. It refuses what it cannot
// read, so a malformed line fails the test rather than going unseen.

export interface Family {
  help?: string;
  type?: string;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  families: Map<string, Family>;
  samples: Sample[];
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\.|[^"\\])*)",?/y;

export function parseExposition(text: string): Exposition {
  const families = new Map<string, Family>();
  const samples: Sample[] = [];
  const family = (name: string) => {
    let found = families.get(name);
    if (!found) {
      found = {};
      families.set(name, found);
    }
    return found;
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (kind === 'HELP') family(name).help = rest;
      else family(name).type = rest;
      continue;
    }
    if (line.startsWith('#')) continue;
    const match = sampleLine.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const [, name, labelText = '', value] = match as unknown as [string, string, string, string];
    samples.push({ name, labels: parseLabels(labelText, line), value: parseValue(value, line) });
  }
  return { families, samples };
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  labelPair.lastIndex = 0;
  while (labelPair.lastIndex < text.length) {
    const match = labelPair.exec(text);
    if (!match) throw new Error(`bad labels in: ${line}`);
    const [, key, raw] = match as unknown as [string, string, string];
    labels[key] = raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  return labels;
}

/** A float as Go's ParseFloat reads it (Prometheus does): NaN and Inf in any case. */
function parseValue(text: string, line: string): number {
  const word = text.toLowerCase();
  if (word === 'nan') return Number.NaN;
  if (word === '+inf' || word === 'inf') return Number.POSITIVE_INFINITY;
  if (word === '-inf') return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error(`bad value in: ${line}`);
  return value;
}

/** The family a sample belongs to: a histogram's `_bucket`, `_sum` and `_count` are its own. */
export function familyOf(exposition: Exposition, sample: string): string | undefined {
  if (exposition.families.has(sample)) return sample;
  const base = sample.replace(/_(bucket|sum|count)$/, '');
  return exposition.families.get(base)?.type === 'histogram' ? base : undefined;
}

/** The value of the one sample with this name and exactly these labels; undefined if none. */
export function sampleValue(
  exposition: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.entries(labels);
  const found = exposition.samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === wanted.length &&
      wanted.every(([key, value]) => s.labels[key] === value),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} with these labels`);
  return found[0]?.value;
}

/** The samples of one family (by exact name) as `labels → value`, labels written `k=v,k=v` sorted. */
export function seriesOf(exposition: Exposition, name: string): Record<string, number> {
  const series: Record<string, number> = {};
  for (const sample of exposition.samples) {
    if (sample.name !== name) continue;
    const key = Object.entries(sample.labels)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    series[key] = sample.value;
  }
  return series;
}

/** GETs a metrics URL and reads it. */
export async function scrape(url: string): Promise<Exposition> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  return parseExposition(await response.text());
}
