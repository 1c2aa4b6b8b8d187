import type { Command } from 'commander';
import { clientFor } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printResult } from '../../output.js';
import { resetToSingleOffline } from '../../../agent/reset.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('leave')
    .description('take this host out of its cluster: out of etcd\'s membership and the host list, back to a single host; its replicas move to the other hosts')
    .option('--force', 'with the agent stopped: reset this host to a single host without asking the cluster (removed host, lost cluster, damaged cluster.json)')
    .addHelpText('after', [
      '',
      'Drain it first (cellblock host drain NAME) to move its replicas before they stop here.',
      'With --force nothing is asked of the cluster: afterwards run cellblock cluster remove NAME on a cluster host',
      'if the host is still listed there.',
      '',
      'Examples:',
      '  cellblock host drain web3 && cellblock cluster leave',
      '  systemctl stop cellblock-agent && cellblock cluster leave --force && systemctl start cellblock-agent',
    ].join('\n'))
    .action(async (opts: { force?: boolean }, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      if (opts.force) {
        const r = await resetToSingleOffline(ctx.dataDir, ctx.exec);
        printResult(ctx, `this host is a single host again (removed ${r.removed.join(', ')}); start its agent`, r);
        return;
      }
      const r = await api.call('clusterLeave');
      printResult(ctx, `left the cluster: ${r.name} is a single host again`, r);
    });
}
