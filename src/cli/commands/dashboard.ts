import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { createDashboard } from '../../dashboard/createDashboard.ts';
import { loopbackNames } from '../../dashboard/security.ts';
import { InputError } from '../../errors.ts';
import { Store } from '../../store/index.ts';
import { wholeFlag } from '../args.ts';
import { type DatabaseFlags, openDatabases } from '../databases.ts';
import { exitCodes } from '../exitCodes.ts';
import { databaseFlags, withFlags } from '../flags.ts';
import type { Act } from '../program.ts';

interface DashboardFlags extends DatabaseFlags {
  port?: string;
  host?: string;
  token?: string;
  readOnly?: boolean;
}

/** How often a dashboard over a database without schema `sluice` looks for it again. */
const schemaPollMs = 2000;

/** Adds `sluice dashboard` to the program. */
export function defineDashboard(program: Command, act: Act): void {
  const command = program
    .command('dashboard')
    .description(
      'a live web UI over the store: jobs, progress, failures, dead letters, and actions (Ctrl-C stops it)',
    );
  withFlags(command, 'sluice dashboard', [
    'port',
    'host',
    'token',
    'read-only',
    ...databaseFlags,
  ]).action(act(dashboardCommand));
}

/** `sluice dashboard`: serves the dashboard until Ctrl-C or SIGTERM. */
async function dashboardCommand(values: DashboardFlags): Promise<number> {
  const port = wholeFlag('port', values.port, 0) ?? 7777;
  if (port > 65535)
    throw new InputError(`Expected \`--port\` to be at most 65535, got \`${port}\``);
  const host = values.host ?? '127.0.0.1';
  const token = values.token ?? process.env.SLUICE_DASHBOARD_TOKEN;
  if (token === '') throw new InputError('Expected `--token` to be a non-empty secret');
  if (!isLoopback(host) && token === undefined) {
    // Anyone who reaches the port could pause, cancel or purge: not without a secret.
    throw new InputError(
      `Binding the dashboard to \`${host}\` needs --token (or SLUICE_DASHBOARD_TOKEN); without one it binds 127.0.0.1 only`,
    );
  }
  // A reader, like `sluice status`: it never creates schema `sluice`.
  const dbs = await openDatabases(values, { create: false });
  const over = (store: Store) =>
    createDashboard({
      store,
      token,
      readOnly: values.readOnly ?? false,
      // Without a token, only the loopback names are answered (no DNS rebinding).
      allowedHosts: token === undefined ? loopbackNames : undefined,
    });
  let dashboard = over(dbs.store);
  let later: Store | undefined;
  // A database sluice never ran on has no schema yet, and a reader does not create it: look for
  // it every few seconds, so a job started after the dashboard still shows.
  const awaitSchema = dbs.store.fresh
    ? setInterval(async () => {
        const store = await Store.open(dbs.stateUrl, { create: false }).catch(() => undefined);
        if (store?.fresh === false && later === undefined) {
          clearInterval(awaitSchema);
          later = store;
          const first = dashboard;
          dashboard = over(store);
          await first.close();
        } else await store?.close();
      }, schemaPollMs)
    : undefined;
  const server = createServer((req, res) => dashboard(req, res));
  try {
    await listen(server, port, host);
    const address = server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    const shown = host.includes(':') ? `[${host}]` : host;
    console.log(
      `Dashboard at http://${shown}:${bound}/${token === undefined ? '' : ' (open it once with ?token=<your token>)'}` +
        `${values.readOnly ? ', read-only' : ''}; Ctrl-C stops it`,
    );
    await interrupted();
    return exitCodes.ok;
  } finally {
    clearInterval(awaitSchema);
    await dashboard.close();
    await later?.close();
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
    await dbs.close();
  }
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1' || host === '[::1]') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE')
        reject(new InputError(`Port ${port} is in use on ${host}; choose another with --port`));
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND')
        reject(new InputError(`Cannot bind \`--host ${host}\`: no such address on this machine`));
      else reject(error);
    });
    server.listen(port, host, () => resolve());
  });
}

/** Resolves at the first SIGINT or SIGTERM. */
function interrupted(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
