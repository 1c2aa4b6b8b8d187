import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printTable } from '../../output.js';
import { formatSize } from '../../../sys/size.js';

export default function register(group: Command, deps: CliDeps): void {
  remote(group.command('ls'))
    .description('the hosts of the cluster: state (ready, cordoned, draining, down), etcd role, replicas placed, capacity and what the replicas reserve (disk: their limits against the pool, times the overcommit ratio), the pool\'s use and free space')
    .addHelpText('after', '\nA host is down when its lease expired (its agent stopped answering for a few seconds).\n\nExamples:\n  cellblock host ls\n  cellblock host ls --json')
    .action(async (_opts: unknown, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      const hosts = await api.call('hostList');
      printTable(
        ctx,
        ['name', 'address', 'state', 'etcd', 'subnet', 'replicas', 'memory', 'cpus', 'disk allocated', 'disk used', 'disk free'],
        hosts.map((h) => [
          h.name + (h.leader ? ' (leader)' : ''), h.address, h.state, h.etcd, h.subnet, h.replicas,
          h.capacity ? `${formatSize(h.usage.memoryBytes)}/${formatSize(h.capacity.memoryBytes)}` : '-',
          h.capacity ? `${h.usage.cpus}/${h.capacity.cpus}` : '-',
          diskAllocated(h),
          h.capacity?.diskBytes !== undefined && h.diskFreeBytes !== null ? formatSize(Math.max(0, h.capacity.diskBytes - h.diskFreeBytes)) : '-',
          h.diskFreeBytes === null ? '-' : formatSize(h.diskFreeBytes),
        ]),
        hosts,
      );
    });
}

/** "3.00G/10.0G" (the replicas' limits against the pool), with the ratio when the cluster overcommits: "3.00G/10.0G x1.5". */
export function diskAllocated(h: { capacity: { diskBytes?: number } | null; usage: { diskBytes: number }; overcommit: number }): string {
  if (h.capacity?.diskBytes === undefined) return h.usage.diskBytes ? `${formatSize(h.usage.diskBytes)}/-` : '-';
  return `${formatSize(h.usage.diskBytes)}/${formatSize(h.capacity.diskBytes)}${h.overcommit === 1 ? '' : ` x${h.overcommit}`}`;
}
