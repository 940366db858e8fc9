// A TCP proxy between one worker and PostgreSQL that can cut the link. Cut, it keeps every
// socket open and reads what both sides send, but forwards nothing: to the worker and to the
// server the link looks alive (the proxy's kernel acknowledges every byte and answers
// keepalives), as when a middlebox stops forwarding. Healed, it delivers what it held, in order,
// like a partition that ends and lets TCP retransmit; closed, it destroys every socket.
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';

interface Link {
  client: Socket;
  upstream?: Socket;
  /** Bytes held while cut, per direction. */
  toServer: Buffer[];
  toClient: Buffer[];
}

export interface CutProxy {
  port: number;
  cut(): void;
  heal(): void;
  /** Ends every link, as a cut that never heals ends in a reset. */
  closeLinks(): void;
  close(): Promise<void>;
  /** Links opened so far. */
  readonly opened: number;
}

export async function startProxy(targetPort: number): Promise<CutProxy> {
  const links = new Set<Link>();
  let cut = false;
  let opened = 0;

  const openUpstream = (link: Link) => {
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    link.upstream = upstream;
    upstream.on('data', (data: Buffer) => {
      if (cut) link.toClient.push(data);
      else link.client.write(data);
    });
    upstream.on('error', () => link.client.destroy());
    upstream.on('close', () => {
      // The server ended the session: pass the close on, unless the link is cut.
      if (!cut) link.client.destroy();
    });
    for (const data of link.toServer.splice(0)) upstream.write(data);
  };

  const server: Server = createServer((client) => {
    opened++;
    const link: Link = { client, toServer: [], toClient: [] };
    links.add(link);
    client.on('data', (data: Buffer) => {
      if (cut || !link.upstream) link.toServer.push(data);
      else link.upstream.write(data);
    });
    client.on('error', () => link.upstream?.destroy());
    client.on('close', () => {
      links.delete(link);
      if (!cut) link.upstream?.destroy();
    });
    // A link opened during the cut reaches the server only when it heals.
    if (!cut) openUpstream(link);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('proxy has no port');

  const closeLinks = () => {
    cut = false;
    for (const link of links) {
      link.client.destroy();
      link.upstream?.destroy();
    }
  };
  return {
    port: address.port,
    get opened() {
      return opened;
    },
    cut() {
      cut = true;
    },
    heal() {
      cut = false;
      for (const link of links) {
        if (link.client.destroyed) {
          link.upstream?.destroy();
          continue;
        }
        if (!link.upstream) {
          openUpstream(link);
          continue;
        }
        if (link.upstream.destroyed) {
          link.client.destroy();
          continue;
        }
        for (const data of link.toServer.splice(0)) link.upstream.write(data);
        for (const data of link.toClient.splice(0)) link.client.write(data);
      }
    },
    closeLinks,
    async close() {
      closeLinks();
      await new Promise((done) => server.close(done));
    },
  };
}
