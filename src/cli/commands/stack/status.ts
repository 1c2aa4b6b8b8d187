import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printTable } from '../../output.js';
import type { ServiceStatus } from '../../../api/contract.js';
import { checkStackName } from '../../../cluster/stacks.js';

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
      if (!ctx.json) for (const s of services) ctx.stdout.write(`${s.stack}/${s.service}: ${s.ready}/${s.replicas} ready (${s.image}, spec ${s.specHash})\n`);
      printTable(ctx, ['replica', 'image', 'host', 'phase', 'healthy', 'current', 'ip', 'message'], statusRows(services), services);
    });
}
