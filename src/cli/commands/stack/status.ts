import type { Command } from 'commander';
import type { CliDeps } from '../../main.js';
import { printTable } from '../../output.js';
import { agentClient } from '../cluster/common.js';
import type { ServiceStatus } from '../../../cluster/stacks.js';
import { checkStackName } from '../../../cluster/stacks.js';

export function statusRows(services: ServiceStatus[]): (string | number)[][] {
  return services.flatMap((s) => s.instances.map((i) => [
    `${s.stack}/${s.service}#${i.replica}`, s.image, i.host ?? '-', i.phase, i.healthy ? 'yes' : 'no', i.current ? 'yes' : 'no', i.ip ?? '-', i.message ?? '',
  ]));
}

export default function register(program: Command, deps: CliDeps): void {
  program
    .command('status')
    .description('desired against observed for every service: each replica\'s host, phase, health, whether it runs the desired spec, and its IP')
    .option('--stack <name>', 'only this stack')
    .addHelpText('after', '\nExamples:\n  cellblock status\n  cellblock status --stack stack --json')
    .action(async (opts: { stack?: string }, cmd: Command) => {
      const { ctx, api } = agentClient(cmd, deps);
      const q = opts.stack ? `?stack=${checkStackName(opts.stack)}` : '';
      const services = await api.call<ServiceStatus[]>('GET', `/v1/status${q}`);
      if (!ctx.json) for (const s of services) ctx.stdout.write(`${s.stack}/${s.service}: ${s.ready}/${s.replicas} ready (${s.image}, spec ${s.specHash})\n`);
      printTable(ctx, ['replica', 'image', 'host', 'phase', 'healthy', 'current', 'ip', 'message'], statusRows(services), services);
    });
}
