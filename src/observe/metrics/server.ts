import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InputError, toError } from '../../errors.ts';
import type { Store } from '../../store/index.ts';
import { createMetrics, type Metrics } from './createMetrics.ts';
import { metricsHandler } from './handler.ts';

export interface MetricsServerOptions {
  /** The port to listen on; 0 takes any free one (see `MetricsServer.port`). */
  port: number;
  /** The address to bind. Default 127.0.0.1: only this host can scrape, unless you open it. */
  host?: string;
  /** The store the store-wide metrics read; a new `createMetrics` is made for it... */
  store?: Pick<Store, 'sql'>;
  /** ...unless these metrics are given, which also carry this process's own. */
  metrics?: Metrics;
}

export interface MetricsServer {
  readonly metrics: Metrics;
  /** Where Prometheus scrapes, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and ends open connections (a scraper's keep-alive ones too). */
  close(): Promise<void>;
}

export const defaultMetricsHost = '127.0.0.1';

/**
 * Serves `GET /metrics` on its own port, as `sluice run` and `sluice worker` do with
 * `--metrics-port`. A port that cannot be had (in use, or privileged) is an InputError.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? defaultMetricsHost;
  const metrics =
    options.metrics ??
    (options.store
      ? createMetrics({ store: options.store })
      : missing('startMetricsServer needs `store` or `metrics`'));
  const handle = metricsHandler(metrics);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') return handle(req, res);
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('Not found: sluice serves its metrics at /metrics\n');
  });
  await new Promise<void>((listening, failed) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      failed(listenFailure(error, host, options.port)),
    );
    server.listen(options.port, host, () => listening());
  });
  const { port } = server.address() as AddressInfo;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    metrics,
    port,
    url: `http://${shown}:${port}/metrics`,
    close: () =>
      new Promise<void>((closed) => {
        server.close(() => closed());
        server.closeAllConnections();
      }),
  };
}

function missing(message: string): never {
  throw new TypeError(message);
}

/** Why the port could not be had, in one line that names it. */
function listenFailure(error: NodeJS.ErrnoException, host: string, port: number): Error {
  const where = `${host}:${port}`;
  if (error.code === 'EADDRINUSE') {
    return new InputError(`Cannot serve metrics on ${where}: the port is in use`);
  }
  if (error.code === 'EACCES') {
    return new InputError(
      `Cannot serve metrics on ${where}: permission denied (ports below 1024 need privileges)`,
    );
  }
  if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
    return new InputError(`Cannot serve metrics on ${where}: no such address on this host`);
  }
  return new InputError(`Cannot serve metrics on ${where}: ${toError(error).message}`);
}
