import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printTable } from '../../output.js';
import type { ServiceStatus } from '../../../api/contract.js';
import { checkStackName } from '../../../cluster/stacks.js';
import { lbFigures } from '../../../lb/status.js';
import { backendName } from '../../../lb/model.js';

export function statusRows(services: ServiceStatus[]): (string | number)[][] {
  return services.flatMap((s) => s.instances.map((i) => [
    `${s.stack}/${s.service}#${i.replica}`, s.image, i.host ?? '-', i.phase, i.healthy ? 'yes' : 'no', i.current ? 'yes' : 'no', i.ip ?? '-', i.message ?? '',
  ]));
}

export default function register(program: Command, deps: CliDeps): void {
  remote(program.command('status'))
    .description('desired against observed for every service: each replica\'s host, phase, health, whether it runs the desired spec, and its IP')
    .option('--stack <name>', 'only this stack')
    .addHelpText('after', '\nExamples:\n  cellblock status\n  cellblock status --stack stack --json')
    .action(async (opts: { stack?: string }, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      const services = await api.call('status', opts.stack ? { query: { stack: checkStackName(opts.stack) } } : {});
      // the load balancer's figures of published services (an agent without the lb route: none)
      const lb = ctx.json ? undefined : await api.call('lbStatus').catch(() => undefined);
      const fig = (s: ServiceStatus) => (lb ? lbFigures(lb, backendName(s.stack, s.service)) : undefined);
      if (!ctx.json) for (const s of services) ctx.stdout.write(`${s.stack}/${s.service}: ${s.ready}/${s.replicas} ready (${s.image}, spec ${s.specHash})${fig(s) ? `; lb: ${fig(s)}` : ''}\n`);
      printTable(ctx, ['replica', 'image', 'host', 'phase', 'healthy', 'current', 'ip', 'message'], statusRows(services), services);
    });
}
