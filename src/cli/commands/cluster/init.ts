import type { Command } from 'commander';
import { clientFor } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printResult } from '../../output.js';
import { portOption } from './common.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('init')
    .description('make this host the first of a cluster: creates the cluster CA and this host\'s certificate, moves etcd and the agent API to mutual TLS on --advertise')
    .option('--advertise <addr>', 'the address the other hosts reach this one at (default: its one IPv4 address outside loopback and its jail subnet)')
    .option('--name <name>', 'this host\'s name in the cluster (default: its etcd member name, from the hostname)')
    .option('--api-port <port>', 'TCP port of the mutual-TLS agent API (default 7480)')
    .option('--join-port <port>', 'TCP port of the token-authenticated join listener (default 7481)')
    .option('--overcommit <ratio>', 'disk overcommit: hosts are offered their pool size times this ratio (default 1: never more disk than the pool has)')
    .option('--default-disk <size>', 'disk limit of each replica whose service sets no disk: (default 1G)')
    .option('--range <cidr>', 'the range joining hosts get their jail subnets from, a /24 each (default 10.77.0.0/16)')
    .addHelpText('after', [
      '',
      'Needs the agent running on this host, and no stack applied yet (apply stacks once the cluster exists).',
      'Opens: 2379 and 2380 (etcd, TLS), 7480 (agent API, mutual TLS), 7481 (join listener, TLS + token).',
      '',
      'Examples:',
      '  cellblock cluster init --advertise 192.0.2.10',
      '  cellblock cluster token          # then, on the next host: cellblock cluster join 192.0.2.10 --token ...',
    ].join('\n'))
    .action(async (opts: { advertise?: string; name?: string; apiPort?: string; joinPort?: string; range?: string; overcommit?: string; defaultDisk?: string }, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      const body = {
        ...(opts.advertise ? { advertise: opts.advertise } : {}),
        ...(opts.name ? { name: opts.name } : {}),
        ...(opts.apiPort ? { apiPort: portOption('--api-port', opts.apiPort) } : {}),
        ...(opts.joinPort ? { joinPort: portOption('--join-port', opts.joinPort) } : {}),
        ...(opts.range ? { range: opts.range } : {}),
        ...(opts.overcommit ? { overcommit: opts.overcommit } : {}),
        ...(opts.defaultDisk ? { defaultDisk: opts.defaultDisk } : {}),
      };
      const r = await api.call('clusterInit', { body });
      printResult(ctx, `cluster ${r.clusterId} initialised: host ${r.name} at ${r.address} is its first etcd member\nnext: cellblock cluster token, then cellblock cluster join ${r.address} --token TOKEN on each other host`, r);
    });
}
