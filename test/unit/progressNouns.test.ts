import { expect, test } from 'vitest';
import { Events } from '../../src/observe/events.ts';
import { showProgress } from '../../src/observe/progress.ts';

test('progress names tasks and items as it is told before any job:planned (sluice wait)', () => {
  const lines: string[] = [];
  const stream = { write: (text: string) => lines.push(text) } as unknown as NodeJS.WriteStream;
  const events = new Events();
  const stop = showProgress(events, {
    stream,
    live: false,
    everyMs: 0,
    taskNoun: 'ranges',
    unit: 'rows',
  });
  events.emit('job:progress', {
    totalTasks: 20,
    totalItems: 2000,
    doneTasks: 5,
    doneItems: 500,
    failedTasks: 0,
    failedItems: 0,
    runningTasks: 2,
    itemsThisRun: 500,
    elapsedMs: 1000,
  });
  stop();
  expect(lines.join('')).toMatch(/^progress: 5\/20 ranges.* 500\/2,000 rows.* 500 rows\/s/);
});
