import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import { printJson } from '../../output.js';
import { Lab } from '../../../lab/lab.js';
import { listLabNames, labNamespaces } from '../../../lab/state.js';
import { labContext } from './common.js';
import { readHostConfig } from '../../../jail/host-config.js';

export interface LabHostView { name: string; address: string; subnet: string; netns: string; nsPath: string; dataDir: string; agentLog: string; agentPid: number | null }
export interface LabView { name: string; root: string; phase: string; cluster: boolean; lan: string; createdAt: string; hosts: LabHostView[]; client?: string; vip?: string }

/**
 * What `lab up` and `lab ls --json` print of a lab (agent PIDs as recorded). A host's jail
 * subnet is the one in its host.json (in a cluster lab the cluster handed it out); '-' before
 * its agent first started.
 */
export async function describeLab(lab: Lab): Promise<LabView> {
  const subnets = await Promise.all(lab.hosts.map(async (h) => (await readHostConfig(h.dataDir).catch(() => undefined))?.subnet ?? (lab.state.cluster ? '-' : h.subnet))); // unreadable: not made yet
  return {
    name: lab.name, root: lab.plan.root, phase: lab.state.phase, cluster: lab.state.cluster, lan: lab.plan.lan, createdAt: lab.state.createdAt,
    client: lab.plan.client.address, vip: lab.plan.vip,
    hosts: lab.hosts.map((h, i) => ({ name: h.name, address: h.address, subnet: subnets[i]!, netns: h.netns, nsPath: h.nsPath, dataDir: h.dataDir, agentLog: h.agentLog, agentPid: lab.state.agents[h.name] ?? null })),
  };
}

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('ls')
    .description('the labs on this machine: hosts, addresses, whether each agent runs')
    .addHelpText('after', '\nA lab in phase "creating" is one whose lab up has not finished or died: remove it with cellblock lab down NAME.\n\nExamples:\n  cellblock lab ls\n  cellblock lab ls --json')
    .action(async (_opts: unknown, cmd: Command) => {
      const { ctx, root, labDeps } = labContext(cmd, deps);
      const views: (LabView & { leftover?: string[] })[] = [];
      for (const name of await listLabNames(root)) {
        const lab = await Lab.open(root, name, labDeps).catch(() => undefined); // no record (another root, or lost): shown as such
        if (!lab) { views.push({ name, root, phase: 'no record', cluster: false, lan: '-', createdAt: '-', hosts: [], leftover: await labNamespaces(name) }); continue; }
        const v = await describeLab(lab);
        for (const h of v.hosts) h.agentPid = (await lab.agentPid(h.name)) ?? null;
        views.push(v);
      }
      if (ctx.json) return printJson(ctx, views);
      if (views.length === 0) { ctx.stdout.write('(no labs)\n'); return; }
      for (const v of views) {
        if (v.leftover) { ctx.stdout.write(`${v.name}: no record under ${root} (namespaces: ${v.leftover.join(', ') || 'none'}); remove with: cellblock lab down ${v.name}\n`); continue; }
        ctx.stdout.write(`${v.name}  ${v.phase}${v.cluster ? ', cluster' : ''}  LAN ${v.lan}  client ${v.client ?? '-'}  suggested VIP ${v.vip ?? '-'}  since ${v.createdAt}\n`);
        for (const h of v.hosts) ctx.stdout.write(`  ${h.name}  ${h.address.padEnd(12)}  jails ${h.subnet.padEnd(15)}  agent ${h.agentPid === null ? 'not running' : `pid ${h.agentPid}`}\n`);
      }
    });
}
