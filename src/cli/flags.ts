import { type Command, Help, Option } from 'commander';

interface FlagHelp {
  /** The value's placeholder; none for an on/off flag. */
  value?: string;
  /** One line: what the flag does. */
  help: string;
  /** What applies when the flag is left out. */
  default: string;
  /** The flag as it is typed after a command, e.g. `--grace 10`. */
  example: string;
  /** What the example starts with, when not the command's own (`sluice worker --all`). */
  command?: string;
}

/**
 * Every flag of the CLI, described once: `--help` on each command lists its flags from here, each
 * with what it does, its default and an example. Commands pick theirs by name (see `flags`).
 */
const catalog = {
  'database-url': {
    value: 'url',
    help: 'the source database the job reads',
    default: 'DATABASE_URL, else an embedded PostgreSQL under ./.sluice/',
    example: '--database-url postgres://app@db/shop',
  },
  'state-url': {
    value: 'url',
    help: 'the database that holds schema `sluice` (job state)',
    default: 'SLUICE_STATE_URL, else the source database',
    example: '--state-url postgres://ops@db/ops',
  },
  'max-parallelism': {
    value: 'n',
    help: "the job's cap on tasks running at once, across every process (1 to 10000)",
    default: "the job's maxParallelism",
    example: '--max-parallelism 8',
  },
  concurrency: {
    value: 'n',
    help: 'tasks this process runs at once, under the cap',
    default: "the cap, or the executor's pool size",
    example: '--concurrency 4',
  },
  'rate-limit': {
    value: 'rate',
    help: "overrides the job's rate limit, per second or per minute",
    default: "the job's rateLimit (a per-minute one keeps its cost)",
    example: '--rate-limit 900/s',
  },
  pacing: {
    value: 'ms[+jitter]',
    help: "overrides the job's pause between items per worker, plus random jitter",
    default: "the job's pacing (none unless it sets one)",
    example: '--pacing 500+250',
  },
  executor: {
    value: 'mode[:n]',
    help: 'where tasks run: async, sequential, thread[:n], process[:n]',
    default: "the job's executor, else async",
    example: '--executor thread:4',
  },
  parallelism: {
    value: 'n',
    help: "the executor's pool size on this host",
    default: "the job's, else the cap (async) or one per CPU (thread, process)",
    example: '--executor process --parallelism 4',
  },
  'func-ram-mb': {
    value: 'mb',
    help: 'heap for each thread or process worker, in MB (at least 32)',
    default: "the job's funcRamMb, else Node's default heap",
    example: '--func-ram-mb 512',
  },
  'func-cpu': {
    value: 'n',
    help: 'CPUs each pooled process worker counts for',
    default: "the job's funcCpu, else 1",
    example: '--executor process:2 --func-cpu 2',
  },
  out: {
    value: 'file',
    help: 'streams every item outcome to the file as JSON lines (chunks, cursor)',
    default: 'no file',
    example: '--out results.jsonl',
  },
  rerun: {
    help: 'plans the job afresh, finished or not',
    default: 'off (a finished job is reported, an unfinished one resumed)',
    example: '--rerun',
  },
  resume: {
    help: 'resumes the job first if it is paused',
    default: 'off (a paused job is reported and not run, exit 6)',
    example: '--resume',
  },
  smoke: {
    help: 'runs only the first task, prints its report, records nothing',
    default: 'off',
    example: '--smoke',
  },
  detach: {
    help: 'plans (or finds) the job, says how to follow it, runs nothing',
    default: 'off',
    example: '--detach',
  },
  grace: {
    value: 'seconds',
    help: 'after SIGINT or SIGTERM, how long running tasks get to finish',
    default: '30',
    example: '--grace 10',
  },
  'reconnect-for': {
    value: 'seconds',
    help: 'how long to wait for a database that went away mid-run, then exit',
    default: '60 (0 exits at once)',
    example: '--reconnect-for 300',
  },
  'metrics-port': {
    value: 'port',
    help: 'serves Prometheus metrics at 127.0.0.1:<port>/metrics (0: any free port)',
    default: 'off',
    example: '--metrics-port 9464',
  },
  'metrics-host': {
    value: 'address',
    help: 'the address --metrics-port binds; 0.0.0.0 lets other hosts scrape',
    default: '127.0.0.1 (this host only)',
    example: '--metrics-port 9464 --metrics-host 0.0.0.0',
  },
  json: {
    help: 'prints JSON instead of text',
    default: 'off (text)',
    example: '--json',
  },
  'log-format': {
    value: 'text|json',
    help: 'json: each stderr line is a JSON object (time, level, job, event, msg)',
    default: 'SLUICE_LOG_FORMAT, else text',
    example: '--log-format json',
  },
  all: {
    help: 'works on every unfinished job whose module `sluice run` recorded',
    default: 'off (only the job modules given)',
    example: '--all',
  },
  'exit-when-done': {
    help: "exits when the job(s) finished, with `sluice run`'s exit code",
    default: 'off (waits for the next run)',
    example: '--exit-when-done',
  },
  once: {
    help: 'the same as --exit-when-done',
    default: 'off',
    example: '--once',
  },
  'failed-only': {
    help: 'for chunks: re-runs exactly the failed items, not whole chunks',
    default: 'off (failed tasks run again whole)',
    example: '--failed-only',
  },
  limit: {
    value: 'n',
    help: 'shows the first n dead letters, by key',
    default: '100',
    example: '--limit 20',
  },
  key: {
    value: 'key',
    help: 'purges only the dead letter with this key',
    default: 'every dead letter of the job',
    example: '--key sku-1042',
  },
  port: {
    value: 'port',
    help: 'the port the dashboard listens on (0: any free port)',
    default: '7777',
    example: '--port 8080',
  },
  host: {
    value: 'address',
    help: 'the address the dashboard binds; any but loopback needs --token',
    default: '127.0.0.1 (this host only)',
    example: '--host 0.0.0.0 --token "$DASHBOARD_TOKEN"',
  },
  token: {
    value: 'secret',
    help: 'every request must carry it (open the page once with ?token=<secret>)',
    default: 'SLUICE_DASHBOARD_TOKEN, else none (loopback only)',
    example: '--token "$SLUICE_DASHBOARD_TOKEN"',
  },
  'read-only': {
    help: 'hides the actions (pause, resume, cancel, replay, purge) and refuses them',
    default: 'off',
    example: '--read-only',
  },
  'finished-before': {
    value: 'age',
    help: 'deletes jobs that ended longer ago than this: s, m, h, d or w',
    default: 'none: the flag is required',
    example: '--finished-before 7d',
  },
  'dry-run': {
    help: 'prints what would be deleted, and deletes nothing',
    default: 'off (deletes)',
    example: '--finished-before 30d --dry-run',
  },
  watch: {
    help: 'redraws the table every second until Ctrl-C',
    default: 'off (prints once)',
    example: '--watch',
  },
} as const satisfies Record<string, FlagHelp>;

export type FlagName = keyof typeof catalog;

/** `--json` for a command that runs a job: outcomes stream before the summary. */
export const jsonRun: Partial<FlagHelp> = {
  help: 'prints JSON lines: item outcomes as they land, then the summary object',
  default: 'off (progress on stderr, the summary line on stdout)',
};

/** The flags every command that opens the databases takes. */
export const databaseFlags = ['database-url', 'state-url'] as const satisfies FlagName[];
/** The flags that choose where a job's tasks run on this host. */
export const executorFlags = [
  'executor',
  'parallelism',
  'func-ram-mb',
  'func-cpu',
] as const satisfies FlagName[];

/**
 * Adds the named flags to a command. `example` is what each example starts with, such as
 * `sluice run job.ts`. Values stay strings: each command checks its own and names the flag.
 * `overrides` rewords a flag for one command (for a retry, `--out` appends).
 */
export function withFlags(
  command: Command,
  example: string,
  names: readonly FlagName[],
  overrides: Partial<Record<FlagName, Partial<FlagHelp>>> = {},
): Command {
  // Every command takes --log-format: main.ts reads it before parsing, for errors of any command.
  for (const name of new Set<FlagName>([...names, 'log-format'])) {
    const flag: FlagHelp = { ...catalog[name], ...overrides[name] };
    const term = flag.value ? `--${name} <${flag.value}>` : `--${name}`;
    // Three lines, which commander's help wraps one by one under the flag.
    command.addOption(
      new Option(
        term,
        `${flag.help}\ndefault: ${flag.default}\nexample: ${flag.command ?? example} ${flag.example}`,
      ),
    );
  }
  return command;
}

/**
 * Lays out a flag of `withFlags` as its term, then its three lines indented beneath it, so the
 * default and the example keep a line each in 80 columns. Other items keep commander's layout.
 */
export function formatItem(
  this: Help,
  term: string,
  termWidth: number,
  description: string,
  helper: Help,
): string {
  if (!term.startsWith('--') || !description.includes('\nexample: ')) {
    return Help.prototype.formatItem.call(this, term, termWidth, description, helper);
  }
  const indent = '      ';
  const lines = helper.boxWrap(description, (helper.helpWidth ?? 80) - indent.length);
  return `  ${term}\n${lines.replace(/^/gm, indent)}`;
}
