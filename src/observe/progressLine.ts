import type { ProgressSnapshot } from './events.ts';
import { count, duration } from './format.ts';

/**
 * One field of the progress line. When the line is too wide, the field with the lowest `keep`
 * takes its `short` form if it has one, and goes after that.
 */
interface Field {
  text: string;
  keep: number;
  short?: string;
}

/** The bar is 24 cells when there is room, and shrinks to 10 before anything else goes. */
const barWidths = { full: 24, least: 10, keep: 5 };

/**
 * The progress line's fields in the order they show: processed (done or failed) of all items,
 * failed with the failure rate among the processed, elapsed, throughput; then ETA and running
 * tasks. On a narrow terminal the items, the failures and the rate stay longest.
 */
function progressFields(p: ProgressSnapshot, unit: string, taskNoun: string): Field[] {
  const rate = p.elapsedMs > 0 ? (p.itemsThisRun * 1000) / p.elapsedMs : 0;
  const processed = p.doneItems + p.failedItems;
  const failedPercent = processed === 0 ? 0 : (p.failedItems / processed) * 100;
  const hasItems = p.totalItems > 0;
  // Without item counts (whole tasks), the tasks are the measure and stay longest.
  const fields: Field[] = [
    { text: `${p.doneTasks}/${p.totalTasks} ${taskNoun}`, keep: hasItems ? 4 : 9 },
  ];
  if (hasItems)
    fields.push({ text: `${count(processed)}/${count(p.totalItems)} ${unit}`, keep: 9 });
  fields.push({
    text: `${count(p.failedItems)} failed (${failedPercent.toFixed(1)}%)`,
    keep: 8,
    short: `${count(p.failedItems)} failed`,
  });
  fields.push({ text: duration(p.elapsedMs / 1000), keep: 3 });
  fields.push({ text: `${count(rate)} ${unit}/s`, keep: 7 });
  if (rate > 0 && processed < p.totalItems)
    fields.push({ text: `ETA ${duration((p.totalItems - processed) / rate)}`, keep: 6 });
  fields.push({ text: `${p.runningTasks} running`, keep: 2 });
  return fields;
}

/** The whole progress line, as plain log lines print it. */
export function progressText(p: ProgressSnapshot, unit: string, taskNoun: string): string {
  return progressFields(p, unit, taskNoun)
    .map((field) => field.text)
    .join(' · ');
}

export interface LiveLineOptions {
  unit: string;
  taskNoun: string;
  /** The adaptive cap, when the job has one. */
  cap?: number;
  /** The terminal's width; the line is kept one narrower, so the cursor never wraps. */
  columns: number;
}

/**
 * The redrawn line: a bar and the fields, dropping the least important ones until it fits the
 * terminal. A line that wrapped would leave its first row behind on every redraw.
 */
export function liveProgressLine(p: ProgressSnapshot, o: LiveLineOptions): string {
  const width = Math.max(1, o.columns - 1);
  const fields = progressFields(p, o.unit, o.taskNoun);
  if (o.cap !== undefined) fields.push({ text: `cap ${o.cap}`, keep: 1 });
  let withBar = true;
  for (;;) {
    const text = fields.map((field) => field.text).join(' · ');
    if (withBar) {
      // The bar takes what the fields leave, between its least and full width ("[" "]" " ").
      const room = Math.min(barWidths.full, width - text.length - 3);
      if (room >= barWidths.least) return `${bar(p, room)} ${text}`;
    } else if (text.length <= width) {
      return text;
    }
    const lowest = fields.reduce(
      (low, field, index) => ((fields[low] as Field).keep <= field.keep ? low : index),
      0,
    );
    const least = fields[lowest] as Field;
    // The bar goes when it is the least important thing left, or nothing else is left.
    if (withBar && (fields.length === 1 || barWidths.keep < least.keep)) {
      withBar = false;
    } else if (least.short !== undefined) {
      fields[lowest] = { text: least.short, keep: least.keep };
    } else if (fields.length > 1) {
      fields.splice(lowest, 1);
    } else {
      return text.slice(0, width);
    }
  }
}

function bar(p: ProgressSnapshot, width: number): string {
  const ratio = p.totalTasks === 0 ? 1 : (p.doneTasks + p.failedTasks) / p.totalTasks;
  const filled = Math.min(width, Math.round(ratio * width));
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}
