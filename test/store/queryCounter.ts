import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL that counts the queries clients send through it, over every
 * connection they open (pools, LISTEN, lock sessions): one per simple Query message, and one per
 * Sync, which ends each extended-protocol query. It reads the frontend protocol only to find
 * message boundaries; bytes pass through untouched.
 */
export interface QueryCounter {
  /** The database URL, pointed at the proxy. */
  readonly url: string;
  /** Queries sent through the proxy so far. */
  readonly queries: number;
  /** The queries sent so far by their text (its first 60 characters), to tell where they come from. */
  readonly texts: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

// Startup-phase requests carry no type byte; these codes ask for encryption or a cancel, and a
// real startup message (protocol 3.0) follows the first two.
const sslRequest = 80877103;
const gssRequest = 80877104;

export async function countQueries(databaseUrl: string): Promise<QueryCounter> {
  const target = new URL(databaseUrl);
  const state = { queries: 0 };
  const texts = new Map<string, number>();
  const sent = (text: string) => {
    state.queries++;
    const key = text.replace(/\s+/g, ' ').trim().slice(0, 60);
    texts.set(key, (texts.get(key) ?? 0) + 1);
  };
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(upstream);
    let pending = Buffer.alloc(0);
    let startup = true;
    // Extended-protocol statements by name, and the one the last Bind named: a prepared
    // statement is parsed once per connection and then only bound.
    const statements = new Map<string, string>();
    let bound = '';
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        if (startup) {
          if (pending.length < 8) break;
          const length = pending.readInt32BE(0);
          if (pending.length < length) break;
          const code = pending.readInt32BE(4);
          startup = code === sslRequest || code === gssRequest;
          pending = pending.subarray(length);
          continue;
        }
        if (pending.length < 5) break;
        const length = pending.readInt32BE(1);
        if (pending.length < 1 + length) break;
        const type = String.fromCharCode(pending[0] as number);
        const body = pending.subarray(5, 1 + length);
        const strings = () => body.toString('utf8').split('\0');
        if (type === 'P') {
          const [name = '', text = ''] = strings();
          statements.set(name, text);
        } else if (type === 'B') {
          bound = statements.get(strings()[1] ?? '') ?? '?';
        } else if (type === 'Q') {
          sent(strings()[0] ?? '');
        } else if (type === 'S') {
          sent(bound);
        }
        pending = pending.subarray(1 + length);
      }
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the proxy has no port');
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String(address.port);
  return {
    url: url.toString(),
    get queries() {
      return state.queries;
    },
    texts,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((closed) => server.close(() => closed()));
    },
  };
}
