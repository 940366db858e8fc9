// Starts `sluice worker` processes for the scale bench, in waves: a Node process that loads a job
// module takes about a second of CPU, so 100 of them at once on 2 cores would time each other out.
// A worker is up once it prints where its metrics are (`metrics:serving`, a JSON log line); it then
// waits for its job to be planned, as `sluice worker` does.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  /** Where its /metrics answer (--metrics-port 0 picks a free port). */
  metricsUrl: string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `count` workers into `workers`, which holds every one started even if a later one fails. */
export async function startWorkers(
  workers: WorkerProcess[],
  count: number,
  wave: number,
  args: readonly string[],
  env: Record<string, string>,
  log: (line: string) => void,
): Promise<void> {
  while (workers.length < count) {
    const size = Math.min(wave, count - workers.length);
    const started = Date.now();
    workers.push(
      ...(await Promise.all(Array.from({ length: size }, () => startWorker(args, env)))),
    );
    log(`  ${workers.length}/${count} workers up (wave of ${size} in ${Date.now() - started} ms)`);
  }
}

function startWorker(args: readonly string[], env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    [bin, 'worker', ...args, '--metrics-port', '0', '--log-format', 'json'],
    { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      stderr += chunk;
      for (const line of stderr.split('\n').slice(0, -1)) {
        if (!line.includes('metrics:serving')) continue;
        const { url } = JSON.parse(line) as { url: string };
        resolve({ child, metricsUrl: url, stderr: () => stderr, exited });
      }
    };
    child.stderr?.on('data', onData);
    void exited.then(({ code }) =>
      reject(new Error(`a worker exited (${code}) before it was up: ${stderr.trim()}`)),
    );
  });
}

/** Stops every worker still running (SIGTERM: it gives back its tasks and leaves) and waits. */
export async function stopWorkers(workers: readonly WorkerProcess[]) {
  for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGTERM');
  return Promise.all(workers.map((worker) => worker.exited));
}
