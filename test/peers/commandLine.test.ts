import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { connectionRefused } from './connectionRefused.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

function spawnPeer(file: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', `examples/peers/${file}`, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function firstLine(child: ChildProcess): Promise<string> {
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const [line] = (await once(lines, 'line')) as [string];
  lines.close();
  return line;
}

describe('peers from the command line', () => {
  test.each([
    ['api.ts', ['--requests-per-window', '50', '--token', 'cli'], '/v1/users/1', 200],
    ['site.ts', ['--pages', '10', '--max-concurrent', 'Infinity'], '/page/1', 200],
    ['llm.ts', ['--tokens-per-window', '600', '--window-ms', '6000'], '/v1/complete', 400],
  ] as const)(
    '%s prints its URL, serves, and exits cleanly on SIGTERM',
    async (file, args, path, status) => {
      const child = spawnPeer(file, ['--port', '0', ...args]);
      const exited = once(child, 'exit');
      const url = await firstLine(child);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${url}/health`)).status).toBe(200);
      const response = await fetch(`${url}${path}`, {
        method: file === 'llm.ts' ? 'POST' : 'GET',
        headers: { authorization: 'Bearer cli' },
      });
      expect(response.status).toBe(status);

      child.kill('SIGTERM');
      expect(await exited).toEqual([0, null]);
      expect(await connectionRefused(Number(new URL(url).port))).toBe(true);
    },
  );

  test.each([
    ['0', 'Expected `requestsPerWindow` to be a whole number >= 1, got `0` (number)'],
    ['ten', 'Expected `--requests-per-window` to be a number, got `ten`'],
  ])('a bad option (%s) prints one clear line and exits with code 2', async (value, message) => {
    const child = spawnPeer('api.ts', ['--requests-per-window', value]);
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += chunk;
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(message);
  });
});
