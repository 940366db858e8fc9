import type { IncomingMessage, ServerResponse } from 'node:http';
import { toError } from '../../errors.ts';
import type { Store } from '../../store/index.ts';
import { redactSecrets } from '../../store/redact.ts';
import { createMetrics, type Metrics } from './createMetrics.ts';

/**
 * A Node request handler that answers with the Prometheus text exposition of sluice's metrics:
 * mount it at `/metrics` in any node:http server or framework (it does not look at the path).
 * Given a store, it creates metrics of its own for it (store-wide, and this process's Node
 * metrics); given `createMetrics`'s result, it serves that, with what the runs it watches did.
 */
export function metricsHandler(
  source: Pick<Store, 'sql'> | Metrics,
): (req: IncomingMessage, res: ServerResponse) => void {
  const metrics = 'scrape' in source ? source : createMetrics({ store: source });
  return (req, res) => void serve(metrics, req, res);
}

async function serve(metrics: Metrics, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    res.end('Only GET and HEAD are served here\n');
    return;
  }
  try {
    const { contentType, body } = await metrics.scrape();
    res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (error) {
    // The store could not be read (the database went away): a failed scrape, which Prometheus
    // records as such (up == 0), rather than figures that are wrong.
    if (res.headersSent) return void res.destroy();
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`sluice: cannot read the metrics: ${redactSecrets(toError(error).message)}\n`);
  }
}
