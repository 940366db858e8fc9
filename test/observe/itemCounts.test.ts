import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { waitFor } from '../support/cli.ts';
import { useTestDatabase } from '../support/db.ts';
import { progressFrames, runInTerminal, screenOf, type TerminalRun } from './terminal.ts';

const db = useTestDatabase();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-items-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Waits until `seen` holds for the terminal's output; fails at once if the run ends first. */
async function until(run: TerminalRun, what: string, seen: (output: string) => boolean) {
  await waitFor(async () => {
    if (run.ended()) throw new Error('the run ended first');
    return seen(run.output());
  }, 30_000).catch((error: Error) => {
    throw new Error(`${what}: ${error.message}; the terminal showed:\n${run.output()}`);
  });
}

const atGate = (frame: string) => frame.includes('0/1 chunks · 5/10 items · 1 failed (20.0%)');

describe('item counts move while a chunk runs', () => {
  // One chunk of 10 items; item 4 fails, and item 6 waits at a gate the test opens. Before the
  // gate opens, the chunk has finished 5 items and is not done: the store counts none of them.
  test.each([
    ['async', []],
    ['thread', ['--executor', 'thread:1']],
    ['process', ['--executor', 'process:1']],
  ] as const)('%s', async (name, flags) => {
    const gate = join(dir, `${name}.gate`);
    const run = runInTerminal(
      ['run', 'test/observe/gatedJob.ts', '--database-url', db.url, ...flags],
      200,
      { JOB_NAME: `gated-${name}`, FAIL_EVERY: '4', OPEN_AFTER: '5', GATE_FILE: gate },
    );
    await until(run, 'the chunk at its gate', (output) => progressFrames(output).some(atGate));
    await writeFile(gate, 'open');
    expect(await run.exited, run.output()).toBe(3);
    const screen = await screenOf(run.output(), 200);
    expect(screen.filter((line) => line.includes(' · '))).toEqual([
      expect.stringMatching(/ 1\/1 chunks · 10\/10 items · 2 failed \(20\.0%\) · /),
    ]);
    expect(screen.at(-1)).toMatch(/^Batch complete: 8\/10 items, 2 failed \(20\.0%\), /);
  });

  test('a chunk retried after its worker process died counts its items once', async () => {
    const [gate, crashGate, marker] = ['gate', 'crash-gate', 'crashed'].map((f) =>
      join(dir, f),
    ) as [string, string, string];
    const run = runInTerminal(
      ['run', 'test/observe/gatedJob.ts', '--database-url', db.url, '--executor', 'process:1'],
      200,
      {
        ...{ JOB_NAME: 'gated-crash', FAIL_EVERY: '4', OPEN_AFTER: '5', GATE_FILE: gate },
        ...{ CRASH_AT: '3', CRASH_GATE: crashGate, CRASH_MARKER: marker },
      },
    );
    // The first attempt's items show as the process finishes them, then it dies at item 3.
    await until(run, 'the first attempt at item 3', (output) =>
      progressFrames(output).some((frame) => frame.includes('0/1 chunks · 2/10 items')),
    );
    await writeFile(crashGate, 'open');
    const retried = /\[task \d+\] attempt 1 failed: worker process exited with code 1/;
    await until(run, 'the retry at its gate', (output) => {
      const after = output.split(retried)[1];
      return after !== undefined && progressFrames(after).some(atGate);
    });
    // The second attempt counts from zero: never the first attempt's items on top of its own.
    const [before, after] = run.output().split(retried) as [string, string];
    expect(Math.max(...progressFrames(before).map(processed))).toBe(2);
    expect(Math.max(...progressFrames(after).map(processed))).toBe(5);
    await writeFile(gate, 'open');
    expect(await run.exited, run.output()).toBe(3);
    const screen = await screenOf(run.output(), 200);
    expect(screen.at(-1)).toMatch(/^Batch complete: 8\/10 items, 2 failed \(20\.0%\), /);
  });
});

/** Processed items of a progress line. */
function processed(frame: string): number {
  return Number(/(\d+)\/\d+ items/.exec(frame)?.[1] ?? 0);
}
