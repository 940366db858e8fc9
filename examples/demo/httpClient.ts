import { Agent, request } from 'node:http';

export interface HttpResponse {
  status: number;
  headers: { get(name: string): string | null };
  body: string;
}

/**
 * A keep-alive HTTP client over one connection: a worker opens one in `setup` and sends every
 * request of its chunks through it, so they reuse one connection instead of opening one each.
 */
export class HttpClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });

  constructor(private readonly headers: Record<string, string> = {}) {}

  get(url: string, signal?: AbortSignal): Promise<HttpResponse> {
    return this.send('GET', url, undefined, signal);
  }

  post(url: string, json: unknown, signal?: AbortSignal): Promise<HttpResponse> {
    return this.send('POST', url, JSON.stringify(json), signal);
  }

  private send(
    method: string,
    url: string,
    body: string | undefined,
    signal?: AbortSignal,
  ): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const headers = { ...this.headers, ...(body ? { 'content-type': 'application/json' } : {}) };
      const req = request(
        url,
        { method, agent: this.agent, headers, signal, timeout: 30_000 },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => {
            text += chunk;
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: {
                get: (name) => (res.headers[name.toLowerCase()] as string | undefined) ?? null,
              },
              body: text,
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timed out after 30s: ${method} ${url}`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
