// The live dashboard's HTTP server (node:http): the page (page.ts), its server-sent events
// (`/events`: the model's snapshot whenever it changes), `/snapshot` (the same as JSON) and
// `/metrics` (metrics.ts). Every tick reads the state store; a run served in-process also feeds
// its events in (`onEvent`). Loopback by default: any other address needs a token, asked of
// every request as `?token=` or an `Authorization: Bearer` header.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { FerryError } from '../../../core/errors.js';
import { silentLogger, type Logger } from '../../../core/log.js';
import { redact, registerSecret } from '../../../core/secrets.js';
import type { RunEvent } from '../../copy/events.js';
import { stateExists, StateStore } from '../../session/checkpoints.js';
import { dashboardMetrics } from './metrics.js';
import { DashboardModel } from './model.js';
import { dashboardPage } from './page.js';
import { StoreReader } from './store-facts.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface DashboardOptions {
  /** `[host:]port`; the host defaults to 127.0.0.1, port 0 takes a free one */
  listen: string;
  /** the checkpoint store folder of the run(s) to show */
  stateDir: string;
  /** required for an address other than loopback */
  token?: string;
  /** the run's events arrive through `onEvent` (`ferry run --serve`): the state may not exist yet */
  live?: boolean;
  /** how often the state store is read (default 1000 ms) */
  intervalMs?: number;
  log?: Logger;
}

export interface Dashboard {
  /** where it listens, as a browser opens it (without the token) */
  url: string;
  onEvent(e: RunEvent): void;
  /** reads the state store now and sends the page what changed (a run's end) */
  refresh(): void;
  close(): Promise<void>;
}

const badListen = (text: string, why: string) =>
  new FerryError(
    'SERVE_INVALID',
    `cannot listen on '${text}': ${why}`,
    'give [host:]port, for example 8080, 127.0.0.1:8080 or [::1]:8080',
  );

/** `8080`, `host:8080`, `[::1]:8080`: where to listen (the host defaults to loopback). */
export function parseListen(text: string): ListenAddress {
  const m = /^(?:(?:\[([^\]]+)\]|([^:[\]]+)):)?(\d+)$/.exec(text.trim());
  if (!m) throw badListen(text, 'not [host:]port');
  const port = Number(m[3]);
  if (port > 65535) throw badListen(text, 'a port is at most 65535');
  const host = m[1] ?? m[2] ?? '127.0.0.1';
  if (m[1] !== undefined && isIP(host) !== 6) throw badListen(text, `${host} is not an IPv6 address`);
  return { host, port };
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** A token for a dashboard that listens beyond loopback. */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

/** The host of a Host header: its port and an IPv6 address's brackets left out. */
function hostOf(header: string | undefined): string {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::\d+)?$/.exec(header ?? '');
  return m ? (m[1] ?? m[2]!).toLowerCase() : '';
}

function hashed(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  return url.searchParams.get('token') ?? undefined;
}

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  // the page loads nothing from anywhere: its script and style are inline, its data comes from here
  'content-security-policy':
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  // the address may hold the token: never sent on to another site
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const address = parseListen(opts.listen);
  if (!isLoopback(address.host) && !opts.token)
    throw new FerryError(
      'SERVE_INVALID',
      `the dashboard would listen on ${address.host}, which is not a loopback address, without a token`,
      'add --token (ferry makes one and prints it once), or listen on 127.0.0.1',
    );
  if (opts.token) registerSecret(opts.token);
  const expected = opts.token ? hashed(opts.token) : undefined;
  const log = opts.log ?? silentLogger;
  const stateDir = resolve(opts.stateDir);
  // a finished run's state must be there; a run served in-process makes its own
  let store = opts.live ? undefined : new StoreReader(new StateStore(stateDir, { existing: true }));
  const model = new DashboardModel();
  const metrics = dashboardMetrics(() => model.snapshot());
  const clients = new Set<ServerResponse>();
  let payload = '';

  const refresh = () => {
    try {
      if (!store && stateExists(stateDir)) store = new StoreReader(new StateStore(stateDir, { existing: true }));
      if (!store) return;
      const facts = store.facts(model.runId);
      if (facts && facts.run.id !== model.watchedRun) model.watch(facts.run.id, store.rowsWritten(facts.run.id));
      model.update(facts);
    } catch (e) {
      // the store busy or a run starting: the next tick reads it again
      log.warn(`dashboard: cannot read the state: ${redact(e instanceof FerryError ? e.oneLine() : String(e))}`);
      return;
    }
    const next = JSON.stringify({ ...model.snapshot(), ...model.charts() });
    if (next === payload) return;
    payload = next;
    for (const c of clients) c.write(`data: ${payload}\n\n`);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    // without a token, only a page of this address may ask: a site that points its own name at
    // 127.0.0.1 (DNS rebinding) gets nothing
    if (!expected && !isLoopback(hostOf(req.headers.host))) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('this dashboard answers requests to its loopback address only\n');
      return;
    }
    if (expected) {
      const given = tokenOf(req, url);
      if (!given || !timingSafeEqual(hashed(given), expected)) {
        res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer' });
        res.end(
          'this dashboard needs its token: add ?token=TOKEN to the address, or send Authorization: Bearer TOKEN\n',
        );
        return;
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url.pathname === '/') {
      res.writeHead(200, PAGE_HEADERS).end(dashboardPage());
    } else if (url.pathname === '/events') {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      res.write(`retry: 2000\n\n`);
      if (payload) res.write(`data: ${payload}\n\n`);
      clients.add(res);
      req.on('close', () => clients.delete(res));
    } else if (url.pathname === '/snapshot') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(model.snapshot()));
    } else if (url.pathname === '/metrics') {
      metrics.render().then(
        (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(e)}\n`),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      store?.state.close();
      fail(
        new FerryError(
          'SERVE_INVALID',
          `cannot listen on ${opts.listen}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.code === 'EADDRNOTAVAIL' ? 'no interface has that address' : e.message}`,
          'choose another port (0 takes a free one) or address',
        ),
      );
    });
    server.listen(address.port, address.host, ok);
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : address.port;
  refresh();
  const timer = setInterval(refresh, opts.intervalMs ?? 1000);
  // the SSE connections stay open: a comment now and then keeps proxies from closing them
  const heartbeat = setInterval(() => clients.forEach((c) => c.write(': keep-alive\n\n')), 15_000);
  timer.unref();
  heartbeat.unref();
  return {
    url: `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${port}/`,
    onEvent: (e) => model.apply(e),
    refresh,
    close: async () => {
      clearInterval(timer);
      clearInterval(heartbeat);
      for (const c of clients) c.end();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      store?.state.close();
    },
  };
}
