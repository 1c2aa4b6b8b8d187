/**
 * haproxy.cfg from the desired LB (pure; golden files under test/fixtures/lb/).
 *
 * - master-worker; an admin socket (mode 600) and the server-state file under DATA_DIR/lb/, so a
 *   reload keeps each server's state (load-server-state-from-file).
 * - http frontend on lb.http: the Host header (lowercased, port stripped) picks the backend; an
 *   unknown host gets a 404 with a one-line explanation. https frontend on lb.https only when a
 *   service has tls: TLS ends here, SNI picks the certificate. One tcp frontend per tcp port.
 * - one backend per published service, roundrobin; every server carries its own settings
 *   (serverParams) because servers added through the runtime API do not get default-server.
 * - health: active checks at their own fast pace (inter 500ms, fall 2, rise 2, a 500 ms check
 *   timeout: a dead replica is out within about a second), passive checks (observe, error-limit,
 *   on-error mark-down; no on-marked-down shutdown-sessions: see ConfigOptions); L7 retries with redispatch, for GET and HEAD only: any other method is
 *   retried only when its connection failed, i.e. it was never sent (disable-l7-retry).
 * - server-side keep-alive: http servers carry their idle-connection pool settings (IDLE_POOL),
 *   which `add server` does not default as a file's server line does.
 */
import { join } from 'node:path';
import type { CheckSettings, DesiredBackend, DesiredLb, DesiredServer } from './desired.js';

export interface LbPaths {
  dir: string;
  config: string;
  pid: string;
  /** The admin (stats) socket: the runtime API. */
  admin: string;
  /** The master CLI socket (master-worker). */
  master: string;
  state: string;
  certs: string;
  log: string;
  /** The shape (desired.ts shapeOf) the running HAProxy was last started or reloaded with. */
  shape: string;
}

export function lbPaths(dataDir: string): LbPaths {
  const dir = join(dataDir, 'lb');
  return {
    dir, config: join(dir, 'haproxy.cfg'), pid: join(dir, 'haproxy.pid'), admin: join(dir, 'admin.sock'),
    master: join(dir, 'master.sock'), state: join(dir, 'server-state'), certs: join(dir, 'certs'),
    log: join(dir, 'haproxy.log'), shape: join(dir, 'shape.json'),
  };
}

/** Health-check timing of every server (independent of the service's own, slower health settings). */
export const CHECK_TIMING = { inter: '500ms', fastinter: '250ms', downinter: '1s', rise: 2, fall: 2, timeout: '500ms' } as const;
/** Consecutive failed responses (passive check) that mark a server down. */
export const ERROR_LIMIT = 3;
/**
 * The idle server-connection pool of every http server, written out: HAProxy 2.6 gives a server
 * added by `add server` `pool-max-conn 0` and `pool-purge-delay 0` (a file's server gets -1 and
 * 5s), so without these a dynamic server never keeps an idle connection and every request opens
 * a new one (show stat: connect = stot, reuse 0): 0.13x the requests/s of a direct jail in
 * bench/lb.ts. These are HAProxy's defaults for a server from the file (no limit; idle
 * connections closed after 5 s unused). See README.md "Throughput".
 */
export const IDLE_POOL = ['pool-max-conn', '-1', 'pool-purge-delay', '5s'] as const;
/** The name of the backend that answers requests for an unknown host name (no '.', so no service's). */
export const UNKNOWN_HOST_BACKEND = 'cellblock-unknown-host';

export interface ConfigOptions {
  /**
   * `backend/server` of the servers in rotation now: written enabled. Every other server is
   * written `disabled` and goes through the same gate as a new one (drain until its first
   * passing check, then ready), so no server gets requests before a check passed.
   */
  enabled?: ReadonlySet<string>;
  /**
   * `on-marked-down shutdown-sessions` on every server (default: on for tcp backends, where
   * nothing is retried and a client whose server went down had better reconnect at once; off
   * for http ones). Off for http because it fails
   * requests HAProxy would otherwise retry: with it, a replica SIGKILLed under a loop of GETs
   * cost one GET ("socket hang up": the session retrying to the dead server was shut when the
   * server went down or to maintenance) in the e2e test. Without it a request stuck on a frozen
   * (SIGSTOPped) replica waits for `timeout server` and is then retried elsewhere.
   */
  shutdownOnDown?: boolean;
}

/** A server's parameters after `name`, the same in the file and in `add server` (runtime API). */
export function serverParams(b: Pick<DesiredBackend, 'mode' | 'check'>, s: Pick<DesiredServer, 'addr' | 'port'>, opts: { shutdownOnDown?: boolean } = {}): string[] {
  const t = CHECK_TIMING;
  return [
    `${s.addr}:${s.port}`, 'check', 'inter', t.inter, 'fastinter', t.fastinter, 'downinter', t.downinter,
    'rise', String(t.rise), 'fall', String(t.fall),
    ...(b.check.port !== undefined && b.check.port !== s.port ? ['port', String(b.check.port)] : []),
    'observe', b.mode === 'http' ? 'layer7' : 'layer4', 'error-limit', String(ERROR_LIMIT), 'on-error', 'mark-down',
    ...(b.mode === 'http' ? IDLE_POOL : []),
    ...((opts.shutdownOnDown ?? b.mode === 'tcp') ? ['on-marked-down', 'shutdown-sessions'] : []),
  ];
}

function checkLines(c: CheckSettings, mode: 'http' | 'tcp'): string[] {
  if (c.kind === 'tcp') return mode === 'tcp' ? ['option tcp-check'] : [];
  return ['option httpchk', `http-check send meth GET uri ${c.path}`, `http-check expect status ${c.expectStatus}`];
}

function backendSection(b: DesiredBackend, o: ConfigOptions): string[] {
  const lines = [`backend ${b.backend}`, `    mode ${b.mode}`, '    balance roundrobin', `    timeout check ${CHECK_TIMING.timeout}`];
  if (b.timeoutMs !== undefined) lines.push(`    timeout server ${b.timeoutMs}ms`);
  lines.push(...checkLines(b.check, b.mode).map((l) => `    ${l}`));
  if (b.mode === 'http') {
    lines.push(
      '    retry-on conn-failure empty-response response-timeout 502 503 504',
      '    http-request disable-l7-retry if !METH_GET',
    );
  }
  lines.push('    retries 3', '    option redispatch 1');
  for (const s of b.servers) {
    // a drained server keeps its drain through the state file (the reconciler sets it again otherwise)
    const on = o.enabled?.has(`${b.backend}/${s.name}`) === true;
    lines.push(`    server ${s.name} ${serverParams(b, s, o).join(' ')}${on ? '' : ' disabled'}`);
  }
  return lines;
}

/** The haproxy.cfg of desired, with its files at paths. */
export function buildConfig(d: DesiredLb, paths: LbPaths, o: ConfigOptions = {}): string {
  const out: string[] = [
    '# written by cellblock (lb/haproxy-config.ts): changes here are overwritten',
    'global',
    '    master-worker',
    `    pidfile ${paths.pid}`,
    `    stats socket ${paths.admin} mode 600 level admin`,
    '    stats timeout 10s',
    `    server-state-file ${paths.state}`,
    '    hard-stop-after 30s',
    '',
    'defaults',
    '    timeout connect 2s',
    '    timeout client 30s',
    '    timeout server 30s',
    '    timeout http-request 10s',
    '    timeout queue 5s',
    '    load-server-state-from-file global',
  ];
  const http = d.backends.filter((b) => b.mode === 'http');
  const routing = (bs: readonly DesiredBackend[]) => [
    '    http-request set-var(txn.host) req.hdr(host),field(1,:),lower',
    ...bs.filter((b) => b.hosts.length > 0).map((b) => `    use_backend ${b.backend} if { var(txn.host) -m str ${b.hosts.join(' ')} }`),
    `    default_backend ${UNKNOWN_HOST_BACKEND}`,
  ];
  if (http.length > 0) {
    out.push('', 'frontend http', '    mode http', `    bind :${d.http}`, '    option forwardfor', ...routing(http));
    const tls = http.filter((b) => b.certFile);
    if (tls.length > 0) {
      const crts = tls.map((b) => `crt ${b.certFile}`).join(' ');
      out.push('', 'frontend https', '    mode http', `    bind :${d.https} ssl ${crts}`, '    option forwardfor', ...routing(tls));
    }
    out.push(
      '', `backend ${UNKNOWN_HOST_BACKEND}`, '    mode http',
      '    http-request return status 404 content-type text/plain string "cellblock: no service is published for this host name" hdr X-Cellblock unknown-host',
    );
  }
  for (const b of d.backends.filter((x) => x.mode === 'tcp' && x.tcp !== undefined)) {
    out.push('', `frontend tcp-${b.tcp}`, '    mode tcp', `    bind :${b.tcp}`, `    default_backend ${b.backend}`);
  }
  for (const b of d.backends) out.push('', ...backendSection(b, o));
  return `${out.join('\n')}\n`;
}
