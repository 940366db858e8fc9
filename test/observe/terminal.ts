// Runs the real CLI in a pseudo-terminal of a given width (util-linux `script`), and reads what a
// terminal of that size would show for its bytes (@xterm/headless).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import xterm from '@xterm/headless';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));

export interface TerminalRun {
  /** Every byte the terminal received so far, as text. */
  output(): string;
  /** Resolves with the CLI's exit code once it ends. */
  exited: Promise<number | null>;
  /** True once the CLI has ended. */
  ended(): boolean;
}

const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;

/**
 * Starts `sluice <args>` on a terminal `columns` wide: stdout and stderr both draw on it.
 * `interruptAfterS` sends it Ctrl-C's SIGINT after that long, for commands that run until then.
 */
export function runInTerminal(
  args: string[],
  columns: number,
  env: Record<string, string | undefined> = {},
  interruptAfterS?: number,
): TerminalRun {
  const sluice = [process.execPath, bin, ...args].map(quote).join(' ');
  const command = interruptAfterS ? `timeout -s INT ${interruptAfterS} ${sluice}` : sluice;
  // `stty` sets the pty's size, which is what the CLI reads as `process.stderr.columns`.
  const child = spawn(
    'script',
    ['-qefc', `stty cols ${columns} rows 40; exec ${command}`, '/dev/null'],
    {
      cwd: root,
      env: { ...process.env, DATABASE_URL: undefined, SLUICE_STATE_URL: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    output += text;
  });
  child.stderr.on('data', (text) => {
    output += text;
  });
  let ended = false;
  return {
    output: () => output,
    exited: new Promise((resolve) =>
      child.on('close', (code) => {
        ended = true;
        resolve(code);
      }),
    ),
    ended: () => ended,
  };
}

/** The lines a terminal `columns` wide shows for `bytes`, rows that wrapped joined back. */
export async function screenOf(bytes: string, columns: number): Promise<string[]> {
  const terminal = new xterm.Terminal({ cols: columns, rows: 40, allowProposedApi: true });
  await new Promise<void>((done) => terminal.write(bytes, done));
  const buffer = terminal.buffer.active;
  const lines: string[] = [];
  for (let row = 0; row < buffer.length; row++) {
    const line = buffer.getLine(row);
    if (!line) continue;
    const text = line.translateToString(true);
    if (line.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
    else lines.push(text);
  }
  terminal.dispose();
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Every state the live progress line was drawn in, from the raw bytes. */
export function progressFrames(bytes: string): string[] {
  return bytes
    .split(/\r|\n/)
    .map((frame) => frame.replaceAll('\x1b[2K', ''))
    .filter((frame) => / · /.test(frame));
}
