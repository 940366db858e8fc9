import { describe, expect, test } from 'vitest';
import { useTestDatabase } from '../support/db.ts';
import { progressFrames, runInTerminal, screenOf } from './terminal.ts';

const db = useTestDatabase();

describe('the progress line fits the terminal, so a run leaves one on screen', () => {
  // 30 chunks of 1,000 items, a tenth failing: the whole line is about 125 columns, wider than
  // the widest terminal here, and the run lasts a few redraws.
  test.each([40, 80, 120])('%i columns', async (columns) => {
    const run = runInTerminal(
      ['run', 'test/observe/gatedJob.ts', '--database-url', db.url],
      columns,
      {
        JOB_NAME: `fits-${columns}`,
        ITEMS: '30000',
        CHUNK: '1000',
        FAIL_EVERY: '10',
        PAUSE_MS: '100',
      },
    );
    expect(await run.exited, run.output()).toBe(3);
    const frames = progressFrames(run.output());
    expect(frames.length).toBeGreaterThan(2);
    // One column is left free: a line that ends on the last column puts some terminals in wrap.
    for (const frame of frames) expect(frame.length).toBeLessThan(columns);

    const screen = await screenOf(run.output(), columns);
    expect(screen, screen.join('\n')).toHaveLength(3);
    const [planned, progress, summary] = screen;
    expect(planned).toBe(`Planned fits-${columns}: 30 chunks, 30,000 items`);
    // The line left on screen is the run's last state, with the summary's counts.
    expect(progress).toMatch(
      /^(\[█+\] )?(30\/30 chunks · )?30,000\/30,000 items · 3,000 failed( \(10\.0%\))?( · |$)/,
    );
    expect(summary).toMatch(/^Batch complete: 27000\/30000 items, 3000 failed \(10\.0%\), /);
  });
});
