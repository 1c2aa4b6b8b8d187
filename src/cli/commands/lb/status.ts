import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printTable } from '../../output.js';
import type { LbStatus } from '../../../api/contract/lb.js';

/** One row per server per host; a host without servers gets one row saying why. */
export function lbRows(st: LbStatus): (string | number)[][] {
  return st.hosts.flatMap((h) => {
    const head = `${h.host}${h.vipHeld ? ' (vip)' : ''}`;
    const haproxy = h.haproxy + (h.message ? `: ${h.message}` : '');
    const servers = h.backends.flatMap((b) => b.servers.map((s) => [head, haproxy, b.backend, s.jail, s.addr, s.status, s.sessions, s.requests, s.errors]));
    if (servers.length > 0) return servers;
    return [[head, haproxy, ...h.backends.map((b) => b.backend).slice(0, 1), ...(h.backends.length ? [] : ['-']), '-', '-', '-', '-', '-', '-']];
  });
}

export default function register(group: Command, deps: CliDeps): void {
  remote(group.command('status'))
    .description('every host\'s HAProxy (running, or why not) and, per backend, each server (replica): its status, current sessions, requests and errors')
    .addHelpText('after', '\nExamples:\n  cellblock lb status\n  cellblock lb status --json')
    .action(async (_opts: unknown, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      const st = await api.call('lbStatus');
      if (!ctx.json) ctx.stdout.write(`http :${st.http}, https :${st.https}${st.vip ? `, vip ${st.vip}` : ''}${st.stack ? ` (lb: of stack ${st.stack})` : ''}\n`);
      printTable(ctx, ['host', 'haproxy', 'backend', 'server', 'address', 'status', 'sessions', 'requests', 'errors'], lbRows(st), st);
    });
}
