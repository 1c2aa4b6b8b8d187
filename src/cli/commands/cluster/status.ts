import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printJson, printTable } from '../../output.js';

export default function register(group: Command, deps: CliDeps): void {
  remote(group.command('status'))
    .description('the cluster: its id, the leader, etcd members, and every host with its state and etcd role (member or client)')
    .addHelpText('after', '\nExamples:\n  cellblock cluster status\n  cellblock cluster status --json')
    .action(async (_opts: unknown, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      const s = await api.call('clusterStatus');
      if (ctx.json) { printJson(ctx, s); return; }
      const lines = [
        s.clusterId ? `cluster ${s.clusterId}; this host: ${s.name} (${s.role})` : `single host ${s.name} (not in a cluster: cellblock cluster init)`,
        `leader: ${s.leader ?? '(none yet)'}`,
        `etcd members: ${s.members.map((m) => m.name || '(starting)').join(', ') || '-'}`,
        '',
      ];
      ctx.stdout.write(lines.join('\n') + '\n');
      printTable(ctx, ['host', 'address', 'state', 'etcd', 'replicas'], s.hosts.map((h) => [h.name + (h.leader ? ' (leader)' : ''), h.address, h.state, h.etcd, h.replicas]), s);
    });
}
