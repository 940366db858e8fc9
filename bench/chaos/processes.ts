// The chaos suite's processes: real `sluice run` / `sluice worker` CLIs from bin/sluice.js, each
// restarted when it dies, whether the suite killed it or it exited on its own (a restarted
// database, say), until it ends with the job's own exit code.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';

/** One life of a role: a process from its start to its end. */
export interface Life {
  role: string;
  pid: number;
  startedAt: number;
  endedAt?: number;
  code?: number | null;
  signal?: NodeJS.Signals | null;
  killedAt?: number;
  /** The last lines it wrote to stderr. */
  lastLines: string[];
  /** The last line sluice itself wrote (`sluice: ...`), such as why it exited. */
  said?: string;
  /** Completions the store refused: the task was taken over while this attempt ran. */
  refused: number;
}

export interface Role {
  name: string;
  args: string[];
  databaseUrl: string;
}

// sluice exits 3 when the job ends `failed`, as the planted poison rows make it.
const jobEnded = new Set([0, 3]);

export class Fleet {
  readonly lives: Life[] = [];
  private readonly current = new Map<string, { child: ChildProcess; life: Life }>();
  private readonly finished = new Set<string>();
  private readonly logs = new Map<string, WriteStream>();
  private stopping = false;

  constructor(
    private readonly bin: string,
    private readonly cwd: string,
    private readonly logDir: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  start(role: Role): void {
    let log = this.logs.get(role.name);
    if (!log) {
      log = createWriteStream(join(this.logDir, `${role.name}.log`), { flags: 'a' });
      this.logs.set(role.name, log);
    }
    const child = spawn(process.execPath, [this.bin, ...role.args], {
      cwd: this.cwd,
      env: { ...this.env, DATABASE_URL: role.databaseUrl, SLUICE_STATE_URL: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const life: Life = {
      role: role.name,
      pid: child.pid as number,
      startedAt: Date.now(),
      lastLines: [],
      refused: 0,
    };
    this.lives.push(life);
    this.current.set(role.name, { child, life });
    log.write(`--- pid ${life.pid} started ${new Date(life.startedAt).toISOString()}\n`);
    const onText = (text: string) => {
      log.write(text);
      for (const line of text.split('\n').filter(Boolean)) {
        if (line.includes('its result was refused')) life.refused++;
        if (line.startsWith('sluice: ')) life.said = line;
        life.lastLines.push(line);
        if (life.lastLines.length > 3) life.lastLines.shift();
      }
    };
    child.stdout?.setEncoding('utf8').on('data', onText);
    child.stderr?.setEncoding('utf8').on('data', onText);
    child.on('exit', (code, signal) => {
      life.endedAt = Date.now();
      life.code = code;
      life.signal = signal;
      log.write(`--- pid ${life.pid} ended: code ${code} signal ${signal}\n`);
      this.current.delete(role.name);
      if (this.stopping) return;
      if (life.killedAt === undefined && code !== null && jobEnded.has(code)) {
        this.finished.add(role.name);
        return;
      }
      // Killed by the suite: back at once. Exited on its own: again each second until it stays.
      setTimeout(() => this.stopping || this.start(role), life.killedAt ? 300 : 1000);
    });
  }

  /** SIGKILLs the role's live process; returns its life, or undefined when it is not running. */
  kill(name: string): Life | undefined {
    const entry = this.current.get(name);
    if (!entry || entry.child.exitCode !== null) return undefined;
    entry.life.killedAt = Date.now();
    entry.child.kill('SIGKILL');
    return entry.life;
  }

  alive(): string[] {
    return [...this.current.keys()];
  }

  pidOf(name: string): number | undefined {
    return this.current.get(name)?.life.pid;
  }

  /** Resolves once every named role has ended with the job's exit code, or after `timeoutMs`. */
  async allFinished(names: string[], timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (names.every((n) => this.finished.has(n))) return true;
      await new Promise((done) => setTimeout(done, 200));
    }
    return false;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const exits = [...this.current.values()].map(
      ({ child }) => new Promise((done) => child.once('exit', done)),
    );
    for (const { child } of this.current.values()) child.kill('SIGKILL');
    await Promise.all(exits);
    await Promise.all([...this.logs.values()].map((log) => new Promise((done) => log.end(done))));
  }
}
