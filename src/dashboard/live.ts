import type { ServerResponse } from 'node:http';

/** Renders a topic's live regions as markup by id; undefined when there is nothing to show. */
export type RenderSections = () => Promise<Record<string, string> | undefined>;

interface Topic {
  render: RenderSections;
  clients: Set<ServerResponse>;
  /** Clients that have not had the full set of regions yet. */
  fresh: Set<ServerResponse>;
  last?: string;
}

/** Counts are pushed this often while a page is open, whether or not a job changed status. */
const tickMs = 1000;
/** A comment line this often keeps proxies from closing a quiet stream. */
const keepAliveMs = 15_000;

/**
 * Server-sent events for the open pages. Each topic (the jobs list, or one job) is read once per
 * tick however many pages show it, and sent only when its markup changed. A status change that any
 * process announces (LISTEN, see store/jobControl.ts) pushes at once instead of at the next tick.
 */
export class LiveHub {
  private readonly topics = new Map<string, Topic>();
  private timer?: NodeJS.Timeout;
  private busy = false;
  private again = false;
  private lastWrite = Date.now();

  constructor(
    /** Starts listening for status changes; resolves with the function that stops it. */
    private readonly listen: (onChange: () => void) => Promise<() => Promise<void>>,
    private readonly onError: (error: unknown) => void,
  ) {}

  private stopListening?: Promise<(() => Promise<void>) | undefined>;

  subscribe(key: string, render: RenderSections, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // nginx buffers responses unless told not to, which would hold every event back.
      'x-accel-buffering': 'no',
    });
    res.write('retry: 1000\n\n');
    let topic = this.topics.get(key);
    if (!topic) {
      topic = { render, clients: new Set(), fresh: new Set() };
      this.topics.set(key, topic);
    }
    topic.clients.add(res);
    topic.fresh.add(res);
    res.on('close', () => this.drop(key, res));
    this.start();
    this.tick();
  }

  private start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), tickMs);
    this.stopListening ??= this.listen(() => this.tick()).catch((error) => {
      this.onError(error);
      return undefined;
    });
  }

  private drop(key: string, res: ServerResponse): void {
    const topic = this.topics.get(key);
    topic?.clients.delete(res);
    topic?.fresh.delete(res);
    if (topic && topic.clients.size === 0) this.topics.delete(key);
    if (this.topics.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Reads and sends every topic; a tick asked for while one runs runs again right after. */
  private tick(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.sendAll()
      .catch(this.onError)
      .finally(() => {
        this.busy = false;
        if (this.again) {
          this.again = false;
          this.tick();
        }
      });
  }

  private async sendAll(): Promise<void> {
    for (const topic of [...this.topics.values()]) {
      const sections = await topic.render();
      if (!sections) continue;
      // Each region's text was escaped, and its secrets hidden, as it was rendered (html.ts).
      const data = JSON.stringify(sections);
      const changed = data !== topic.last;
      topic.last = data;
      for (const res of topic.clients) {
        if (!changed && !topic.fresh.has(res)) continue;
        res.write(`event: sections\ndata: ${data}\n\n`);
        this.lastWrite = Date.now();
      }
      topic.fresh.clear();
    }
    if (Date.now() - this.lastWrite > keepAliveMs) {
      for (const topic of this.topics.values())
        for (const res of topic.clients) res.write(': keep-alive\n\n');
      this.lastWrite = Date.now();
    }
  }

  /** Ends every stream and stops listening. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const topic of this.topics.values()) for (const res of topic.clients) res.end();
    this.topics.clear();
    const stop = await this.stopListening;
    this.stopListening = undefined;
    await stop?.();
  }
}
