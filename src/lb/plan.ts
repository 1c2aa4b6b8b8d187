/**
 * The LB reconciler's pure core: from the desired servers and what HAProxy's `show stat` says,
 * the runtime-API commands that close the gap, and one sentence saying what it decided.
 *
 * A server's path (haproxy-api.ts says why): add (maintenance) -> enable health -> drain
 * (checks run, no new requests) -> ready once a check passed (the gate). Drain follows
 * Assignment.drain; a server no replica backs any more goes to maintenance, and is deleted
 * once its sessions are over.
 * Backends HAProxy does not have yet are left alone: the reload that adds them comes first.
 */
import type { DesiredLb, DesiredServer, DesiredBackend } from './desired.js';
import { api, checkPassed, type ApiCommand, type StatRow } from './haproxy-api.js';
import { serverParams, type ConfigOptions } from './haproxy-config.js';

export type LbAction =
  | { kind: 'add'; backend: string; server: string; commands: ApiCommand[] }
  | { kind: 'ready'; backend: string; server: string; commands: ApiCommand[] }
  | { kind: 'drain'; backend: string; server: string; commands: ApiCommand[] }
  | { kind: 'gate'; backend: string; server: string; commands: ApiCommand[] }
  | { kind: 'remove'; backend: string; server: string; commands: ApiCommand[] };

export interface LbPlan {
  actions: LbAction[];
  sentence: string;
}

const addCommands = (b: DesiredBackend, s: DesiredServer, o: ConfigOptions): ApiCommand[] => [
  api.addServer(b.backend, s.name, serverParams(b, s, o)),
  api.enableHealth(b.backend, s.name),
  api.setState(b.backend, s.name, 'drain'),
];

/**
 * Maintenance (no new requests), then del once it has no sessions left. Sessions are not shut:
 * a request in flight to a replica that just died is retried elsewhere by HAProxy (conn-failure,
 * empty-response), and shutting it fails it (seen in the e2e test).
 */
const removeCommands = (backend: string, row: StatRow): ApiCommand[] => [
  ...(row.status === 'MAINT' ? [] : [api.setState(backend, row.server, 'maint')]),
  ...(row.scur === 0 ? [api.delServer(backend, row.server)] : []),
];

/** What to send to HAProxy: `servers` are the server rows of `show stat`, `backends` the backends it has. */
export function planLb(d: DesiredLb, servers: readonly StatRow[], backends: ReadonlySet<string>, o: ConfigOptions = {}): LbPlan {
  const actions: LbAction[] = [];
  const current = new Map(servers.map((r) => [`${r.proxy}/${r.server}`, r]));
  const wanted = new Set<string>();
  for (const b of d.backends) {
    if (!backends.has(b.backend)) continue;
    for (const s of b.servers) {
      const key = `${b.backend}/${s.name}`;
      wanted.add(key);
      const row = current.get(key);
      const at = { backend: b.backend, server: s.name };
      if (!row) { actions.push({ kind: 'add', ...at, commands: addCommands(b, s, o) }); continue; }
      if (row.addr !== `${s.addr}:${s.port}`) {
        const commands = removeCommands(b.backend, row);
        if (commands.length > 0) actions.push({ kind: 'remove', ...at, commands });
        continue; // added again by the next pass, once it is gone
      }
      const st = row.status;
      if (s.drain) {
        if (!st.startsWith('DRAIN') && st !== 'MAINT') actions.push({ kind: 'drain', ...at, commands: [api.setState(b.backend, s.name, 'drain')] });
        continue;
      }
      if (st === 'MAINT') actions.push({ kind: 'gate', ...at, commands: [api.enableHealth(b.backend, s.name), api.setState(b.backend, s.name, 'drain')] });
      else if (st === 'DRAIN' && checkPassed(row.checkStatus)) actions.push({ kind: 'ready', ...at, commands: [api.setState(b.backend, s.name, 'ready')] });
    }
  }
  for (const r of servers) {
    const key = `${r.proxy}/${r.server}`;
    if (wanted.has(key)) continue;
    const commands = removeCommands(r.proxy, r);
    if (commands.length > 0) actions.push({ kind: 'remove', backend: r.proxy, server: r.server, commands });
  }
  return { actions, sentence: sentenceOf(actions) };
}

/** "add web.app.2 to web.app; ready web.app.1; remove web.app.3 from web.app" or "nothing to do". */
export function sentenceOf(actions: readonly LbAction[]): string {
  if (actions.length === 0) return 'nothing to do';
  return actions.map((a) => {
    switch (a.kind) {
      case 'add': return `add ${a.server} to ${a.backend} (in drain until its first check passes)`;
      case 'gate': return `check ${a.server} of ${a.backend} before it gets requests`;
      case 'ready': return `put ${a.server} of ${a.backend} in rotation (its check passed)`;
      case 'drain': return `drain ${a.server} of ${a.backend}`;
      case 'remove': return `remove ${a.server} from ${a.backend}`;
    }
  }).join('; ');
}

/** `backend/server` of the servers in rotation or draining (written enabled in a reload's file). */
export function enabledServers(servers: readonly StatRow[]): Set<string> {
  return new Set(servers.filter((r) => r.status !== 'MAINT' && !(r.status.startsWith('DRAIN') && !checkPassed(r.checkStatus))).map((r) => `${r.proxy}/${r.server}`));
}
