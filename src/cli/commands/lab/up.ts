import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { printJson } from '../../output.js';
import { DEFAULT_LAB_NAME, DEFAULT_POOL_SIZE, checkHostCount, checkLabName } from '../../../lab/plan.js';
import { upLab } from '../../../lab/lab-up.js';
import { labContext } from './common.js';
import { describeLab } from './ls.js';

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('up')
    .description('make a lab: N hosts (network namespaces on one switch), each with its own address, data dir, btrfs pool and agent, joined into one cluster')
    .option('--hosts <n>', 'how many hosts (1 to 9)', '3')
    .option('--name <name>', 'the lab\'s name (a lowercase letter, then letters or digits)', DEFAULT_LAB_NAME)
    .option('--pool-size <size>', 'each host\'s pool', DEFAULT_POOL_SIZE)
    .option('--no-cluster', 'leave the hosts single hosts (no cluster init / join)')
    .addHelpText('after', '\nA failure removes everything it made. A name in use is refused: remove that lab first (cellblock lab down NAME).\n\nExamples:\n  sudo cellblock lab up\n  sudo cellblock lab up --hosts 5 --name big\n  sudo cellblock lab up --hosts 1 --no-cluster')
    .action(async (opts: { hosts: string; name: string; poolSize: string; cluster: boolean }, cmd: Command) => {
      const { ctx, root, labDeps } = labContext(cmd, deps);
      const name = checkLabName(opts.name);
      const hosts = checkHostCount(opts.hosts);
      const lab = await upLab({ name, hosts, root, poolSize: opts.poolSize, cluster: opts.cluster }, labDeps);
      const d = await describeLab(lab);
      if (ctx.json) return printJson(ctx, d);
      const flag = name === DEFAULT_LAB_NAME ? '' : ` --lab ${name}`;
      const lines = [
        `lab ${name} is up: ${hosts} host${hosts === 1 ? '' : 's'}${lab.state.cluster && hosts > 1 ? ', one cluster' : ''} (LAN ${lab.plan.lan})`,
        ...d.hosts.map((h) => `  ${h.name}  ${h.address}  jails ${h.subnet}  agent pid ${h.agentPid ?? '-'}  data ${h.dataDir}`),
        `  client ${lab.plan.client.address} (on the switch, outside every host): cellblock lab exec${flag} client -- curl -s http://${lab.plan.vip}/`,
        `  suggested VIP: ${lab.plan.vip} (in a stack file: lb: { vip: ${lab.plan.vip} })`,
        '',
        'run a command on a host:',
        `  cellblock lab exec${flag} h0 -- cellblock status`,
        `  cellblock lab exec${flag} h1 -- cellblock jail ls`,
        'or by hand (its network namespace, its data dir, this cellblock):',
        `  nsenter --net=${d.hosts[0]!.nsPath} -- env CELLBLOCK_DATA_DIR=${d.hosts[0]!.dataDir} ${lab.bin} status`,
        `try a failover: cellblock lab cut${flag} h1; watch cellblock lab exec${flag} h0 -- cellblock status; cellblock lab heal${flag} h1`,
        `agent logs: ${lab.plan.dir}/hN.agent.log`,
        `remove it all: cellblock lab down${name === DEFAULT_LAB_NAME ? '' : ` ${name}`}`,
      ];
      ctx.stdout.write(lines.join('\n') + '\n');
    });
}
