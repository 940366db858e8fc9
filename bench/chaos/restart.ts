// What a PostgreSQL restart did to the suite's processes: which of those running at the stop
// exited on their own (and how), which rode it out, and how many starts failed while it was down.
import type { Restart } from './database.ts';
import type { Life } from './processes.ts';

export function describeRestart(lives: Life[], restart: Restart): string {
  const running = lives.filter(
    (l) =>
      l.startedAt < restart.stoppingAt &&
      (l.endedAt ?? Number.POSITIVE_INFINITY) >= restart.stoppingAt,
  );
  // An exit of its own within a minute of the stop, with no job exit code: the restart ended it.
  const exited = running.filter(
    (l) =>
      l.killedAt === undefined &&
      l.endedAt !== undefined &&
      l.endedAt - restart.stoppingAt < 60_000 &&
      l.code !== 0 &&
      l.code !== 3,
  );
  // Rode it out: still alive once the server was back (a later kill by the suite does not count).
  const rode = running.filter(
    (l) => !exited.includes(l) && (l.killedAt === undefined || l.killedAt > restart.startedAt),
  );
  const failedStarts = lives.filter(
    (l) =>
      l.startedAt >= restart.stoppingAt &&
      l.startedAt < restart.startedAt + 5000 &&
      l.killedAt === undefined &&
      l.code !== 0 &&
      l.code !== 3,
  );
  const down = ((restart.startedAt - restart.stoppedAt) / 1000).toFixed(1);
  const exits = exited
    .map(
      (l) =>
        `${l.role} exit ${l.code} after ${(((l.endedAt as number) - restart.stoppingAt) / 1000).toFixed(1)} s ("${l.said ?? l.lastLines.at(-1) ?? ''}")`,
    )
    .join('; ');
  return `${down} s down; of ${running.length} processes running, ${exited.length} exited on their own${exits ? `: ${exits}` : ''}; ${rode.length} rode it out (${rode.map((l) => l.role).join(', ') || 'none'}); restarts that failed while it was down: ${failedStarts.length}`;
}
