import type { Command } from 'commander';
import type { CliDeps } from '../../main.js';
import { printResult } from '../../output.js';
import { agentClient } from './common.js';
import type { ClusterSummary } from '../../../agent/cluster-ops.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('leave')
    .description('take this host out of its cluster: out of etcd\'s membership and the host list, back to a single host; its replicas move to the other hosts')
    .addHelpText('after', '\nDrain it first (cellblock host drain NAME) to move its replicas before they stop here.\n\nExamples:\n  cellblock host drain web3 && cellblock cluster leave')
    .action(async (_opts: unknown, cmd: Command) => {
      const { ctx, api } = agentClient(cmd, deps);
      const r = await api.call<ClusterSummary>('POST', '/v1/cluster/leave', {});
      printResult(ctx, `left the cluster: ${r.name} is a single host again`, r);
    });
}
