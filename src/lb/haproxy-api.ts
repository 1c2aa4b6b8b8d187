/**
 * HAProxy's runtime API over its admin socket (node:net, one command per connection), the
 * commands as pure builders and the parsers of `show stat` and `show servers state` (tested on
 * captured 2.6 output).
 *
 * Replicas come and go as DYNAMIC SERVERS (`add server` / `del server`), not server-template
 * slots: server names stay the replicas' jail names (what lbstate and rollouts speak of), no
 * slot count to size, no reload when a service outgrows it. HAProxy 2.6's constraints, and what
 * we do about them:
 * - default-server is not applied to them: every server line carries all its settings
 *   (haproxy-config.ts serverParams), in the file and in `add server` alike;
 * - they are created in maintenance, and their health check is off until `enable health`;
 * - `enable server` starts a server as "UP 1/2" (in rotation) before any check ran, and
 *   `set server health down` does not stick while in maintenance (both seen on 2.6.12). So a new
 *   server goes maint -> `set server state drain` (checks run, no new requests) and is set
 *   ready only once `show stat` says DRAIN with a passing check: the GATE (plan.ts);
 * - `del server` needs the server in maintenance with no connections: maint, then
 *   `shutdown sessions server`, then del (retried by the next pass while connections close);
 * - a dynamic server is not in the file: the file written for a reload lists the current
 *   servers (and `show servers state` is saved first, so their state carries over).
 */
import { connect } from 'node:net';
import { ExecError } from '../sys/errors.js';
import type { LbServerState } from './model.js';

/** One runtime-API command's text, and how it answers success. */
export interface ApiCommand {
  text: string;
  /** The answer of a success: '' (nothing) or a fixed sentence. */
  ok: string;
}

const cmd = (text: string, ok = ''): ApiCommand => ({ text, ok });

export const api = {
  addServer: (backend: string, server: string, params: readonly string[]) => cmd(`add server ${backend}/${server} ${params.join(' ')}`, 'New server registered.'),
  delServer: (backend: string, server: string) => cmd(`del server ${backend}/${server}`, 'Server deleted.'),
  enableHealth: (backend: string, server: string) => cmd(`enable health ${backend}/${server}`),
  setState: (backend: string, server: string, state: 'ready' | 'drain' | 'maint') => cmd(`set server ${backend}/${server} state ${state}`),
  shutdownSessions: (backend: string, server: string) => cmd(`shutdown sessions server ${backend}/${server}`),
  showStat: () => cmd('show stat'),
  showServersState: () => cmd('show servers state'),
} as const;

/** Sends one command to the socket and returns its whole answer (HAProxy closes after it). */
export function send(socket: string, text: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { s.destroy(); reject(new ExecError(['haproxy-api', socket, text], null, 'no answer', 'timeout')); }, timeoutMs);
    s.on('connect', () => s.end(`${text}\n`));
    s.on('data', (d) => chunks.push(d));
    s.on('error', (e) => { clearTimeout(timer); reject(new ExecError(['haproxy-api', socket, text], null, e.message, 'failed')); });
    s.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('utf8')); });
  });
}

/** Runs a command whose answer must be its success sentence; anything else throws with it. */
export async function run(socket: string, c: ApiCommand): Promise<void> {
  const answer = (await send(socket, c.text)).trim();
  if (answer !== c.ok) throw new ExecError(['haproxy-api', c.text], null, answer, classifyAnswer(answer));
}

/**
 * The answers of 2.6.12 (captured: test/fixtures/lb/) that name a missing server or backend
 * ("No such server."), and a server not ready to be deleted ("Only servers in maintenance mode
 * can be deleted.", "Server still has connections attached to it, cannot remove it.").
 */
const NOT_FOUND = /No such (server|backend)|No such proxy/i;
const BUSY = /Only servers in maintenance mode|still has connections|still has .* attached/i;
export function classifyAnswer(answer: string): 'not-found' | 'busy' | 'failed' {
  return NOT_FOUND.test(answer) ? 'not-found' : BUSY.test(answer) ? 'busy' : 'failed';
}

/** One row of `show stat` (CSV) with the fields cellblock reads. */
export interface StatRow {
  proxy: string;
  server: string;
  /** 0 frontend, 1 backend, 2 server, 3 listener. */
  type: number;
  status: string;
  scur: number;
  stot: number;
  econ: number;
  eresp: number;
  hrsp5xx: number;
  checkStatus: string;
  addr: string;
}

const num = (v: string | undefined) => (v && /^\d+$/.test(v) ? Number(v) : 0);

/** Parses `show stat` (its first line names the columns: "# pxname,svname,..."). */
export function parseShowStat(text: string): StatRow[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const head = lines[0];
  if (!head?.startsWith('# ')) return [];
  const cols = head.slice(2).split(',');
  const at = (name: string) => cols.indexOf(name);
  const ix = { px: at('pxname'), sv: at('svname'), type: at('type'), status: at('status'), scur: at('scur'), stot: at('stot'), econ: at('econ'), eresp: at('eresp'), h5: at('hrsp_5xx'), chk: at('check_status'), addr: at('addr') };
  return lines.slice(1).map((l) => {
    const f = l.split(',');
    const get = (i: number) => (i >= 0 ? f[i] ?? '' : '');
    return {
      proxy: get(ix.px), server: get(ix.sv), type: num(get(ix.type)), status: get(ix.status), scur: num(get(ix.scur)), stot: num(get(ix.stot)),
      econ: num(get(ix.econ)), eresp: num(get(ix.eresp)), hrsp5xx: num(get(ix.h5)), checkStatus: get(ix.chk), addr: get(ix.addr),
    };
  });
}

/** The servers of `show stat` (type 2). */
export const serverRows = (rows: readonly StatRow[]): StatRow[] => rows.filter((r) => r.type === 2);

/** True when HAProxy sends the server new requests: UP, or "UP n/m" (going down, still in). */
export const inRotation = (status: string): boolean => status === 'UP' || /^UP \d+\/\d+$/.test(status);

/** A passing check's status in `show stat` (L4OK tcp connect, L6OK ssl, L7OK http). */
export const checkPassed = (checkStatus: string): boolean => /^L[467]OK$/.test(checkStatus);

/** LbServerState of a server row: requests are its sessions total (one per request or connection). */
export function serverState(r: StatRow): LbServerState {
  return {
    jail: r.server, addr: r.addr, status: r.status, inRotation: inRotation(r.status),
    sessions: r.scur, requests: r.stot, errors: r.econ + r.eresp + r.hrsp5xx,
  };
}

/** One row of `show servers state` (format version 1): the fields cellblock reads. */
export interface ServersStateRow {
  backend: string;
  server: string;
  addr: string;
  port: number;
  /** srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping. */
  opState: number;
  /** srv_admin_state bits: 0x01 forced maint, 0x02 inherited maint, 0x04 config maint, 0x08 forced drain... */
  adminState: number;
}

/** Parses `show servers state` (first line "1", then a "# be_id be_name ..." header). */
export function parseServersState(text: string): ServersStateRow[] {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const head = lines.find((l) => l.startsWith('# be_id'));
  if (!head) return [];
  const cols = head.slice(2).split(' ');
  const at = (n: string) => cols.indexOf(n);
  return lines.filter((l) => !l.startsWith('#') && l !== '1').map((l) => {
    const f = l.split(' ');
    return {
      backend: f[at('be_name')] ?? '', server: f[at('srv_name')] ?? '', addr: f[at('srv_addr')] ?? '', port: num(f[at('srv_port')]),
      opState: num(f[at('srv_op_state')]), adminState: num(f[at('srv_admin_state')]),
    };
  });
}
