import type { Command } from 'commander';
import { clientFor } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printResult } from '../../output.js';
import { portOption } from './common.js';
import { UserError } from '../../../sys/errors.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('join')
    .description('join this host to a cluster through a host at ADDR (one that ran cluster init, or an etcd member), with a token from cellblock cluster token')
    .argument('<addr>', 'address of a cluster host that holds the CA (the one that ran cluster init, or any etcd member)')
    .option('--token <token>', 'the join token (cellblock cluster token on a cluster host)')
    .option('--advertise <addr>', 'the address the other hosts reach this one at (default: its one IPv4 address outside loopback and its jail subnet)')
    .option('--name <name>', 'this host\'s name in the cluster (default: from the hostname)')
    .option('--join-port <port>', 'the join listener\'s port on ADDR (default 7481)')
    .option('--api-port <port>', 'TCP port of this host\'s mutual-TLS agent API (default 7480)')
    .option('--subnet <cidr>', 'keep this jail subnet (default: the cluster hands out the next free /24 of its range; a host with jails, or whose agent was started with --subnet, keeps its own)')
    .addHelpText('after', [
      '',
      'The first three hosts become etcd members; later ones are etcd clients. The host must have no stack applied.',
      'Its jail subnet comes from the cluster (the next free /24 of cluster init --range) unless it keeps its own.',
      '',
      'Examples:',
      '  cellblock cluster join 192.0.2.10 --token cbj1.... --advertise 192.0.2.11',
    ].join('\n'))
    .action(async (addr: string, opts: { token?: string; advertise?: string; name?: string; joinPort?: string; apiPort?: string; subnet?: string }, cmd: Command) => {
      if (!opts.token) throw new UserError('--token is missing', 'get one on a cluster host with: cellblock cluster token');
      const { ctx, api } = clientFor(cmd, deps);
      const body = {
        address: addr, token: opts.token,
        ...(opts.advertise ? { advertise: opts.advertise } : {}),
        ...(opts.name ? { name: opts.name } : {}),
        ...(opts.joinPort ? { joinPort: portOption('--join-port', opts.joinPort) } : {}),
        ...(opts.apiPort ? { apiPort: portOption('--api-port', opts.apiPort) } : {}),
        ...(opts.subnet ? { subnet: opts.subnet } : {}),
      };
      const r = await api.call('clusterJoin', { body });
      printResult(ctx, `joined cluster ${r.clusterId} as ${r.name} (${r.role === 'member' ? 'etcd member' : 'etcd client'})`, r);
    });
}
