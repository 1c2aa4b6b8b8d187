import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printJson } from '../../output.js';
import { wholeNumberOption } from '../jail/common.js';
import type { ServiceStatus } from '../../../api/contract.js';
import { UserError } from '../../../sys/errors.js';
import { readStackInput, withStackOptions } from './common.js';
import { printDiff } from './diff.js';
import { RolloutProgress } from '../rollout/progress.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Phases of a replica that runs no spec yet. */
const NO_SPEC_YET: ReadonlySet<string> = new Set(['unplaced', 'pending', 'pulling', 'creating']);

/** One line per replica whose host, phase or health changed since the last poll. */
export function progressLines(prev: Map<string, string>, services: ServiceStatus[]): string[] {
  const out: string[] = [];
  for (const s of services) {
    for (const i of s.instances) {
      const id = `${s.stack}/${s.service}#${i.replica}`;
      // a replica being pulled for or created gets the new spec: "old spec" only for one that runs another
      const onNewSpec = i.current || NO_SPEC_YET.has(i.phase);
      const state = i.host === null ? 'not placed' : `on ${i.host}: ${i.healthy ? 'healthy' : i.phase}${onNewSpec ? '' : ' (old spec)'}${i.message && !i.healthy ? ` - ${i.message}` : ''}`;
      if (prev.get(id) !== state) out.push(`${id} ${state}`);
      prev.set(id, state);
    }
  }
  return out;
}

export const isReady = (services: ServiceStatus[]): boolean => services.every((s) => s.ready === s.replicas);

export default function register(program: Command, deps: CliDeps): void {
  withStackOptions(remote(program.command('apply')))
    .description('make the cluster run what the stack file declares (idempotent), then wait until every replica runs the new spec and is healthy')
    .option('--no-wait', 'return once the desired state is written')
    .option('--timeout <seconds>', 'how long to wait for the replicas (default 300)')
    .addHelpText('after', [
      '',
      'The file is validated first; a bad file changes nothing. A changed service rolls out by its deploy settings',
      '(new replicas first, old ones drained then replaced); a rollout rolled back makes apply fail with the reason.',
      'Images are taken from the hosts that hold them (build them on one host; the others pull incrementally).',
      'The cert and key files of publish.tls are read relative to the stack file, checked, and sent with it.',
      '',
      'Examples:',
      '  cellblock apply -f stack.yml',
      '  cellblock apply -f stack.yml --no-wait && cellblock status',
    ].join('\n'))
    .action(async (opts: { file: string; name?: string; wait: boolean; timeout?: string }, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      const timeout = wholeNumberOption('--timeout', opts.timeout) ?? 300;
      const input = await readStackInput(opts);
      const r = await api.call('stackApply', { params: { name: input.name }, body: { file: input.file, text: input.text, ...(Object.keys(input.files).length ? { files: input.files } : {}) } });
      if (!ctx.json) printDiff(ctx.stdout, input.name, r.diff);
      if (!opts.wait) { if (ctx.json) printJson(ctx, r); return; }
      const seen = new Map<string, string>();
      const rollouts = new RolloutProgress(r); // the rollouts this apply started: their steps, and a rollback fails apply
      const deadline = Date.now() + timeout * 1000;
      let services: ServiceStatus[] = [];
      for (;;) {
        services = await api.call('status', { query: { stack: input.name } });
        const views = rollouts.active ? await api.call('rollouts', { query: { stack: input.name } }) : [];
        if (!ctx.json) for (const line of [...progressLines(seen, services), ...rollouts.lines(views)]) ctx.stdout.write(`  ${line}\n`);
        const failed = rollouts.failed(views);
        if (failed !== undefined) throw new UserError(`stack ${input.name} applied, but ${failed}`, 'see cellblock rollout status SERVICE and rollout history SERVICE; fix the spec and apply again');
        if (isReady(services) && rollouts.done(views)) break;
        if (Date.now() > deadline) {
          const waiting = services.flatMap((s) => s.instances.filter((i) => !i.healthy).map((i) => `${s.service}#${i.replica} (${i.host ?? 'no host'}: ${i.phase}${i.message ? `, ${i.message}` : ''})`));
          throw new UserError(`stack ${input.name} applied, but not ready after ${timeout} s: ${waiting.join('; ')}`, 'see cellblock status and the agent logs of those hosts; the cluster keeps trying');
        }
        await sleep(500);
      }
      if (ctx.json) printJson(ctx, { ...r, status: services });
      else ctx.stdout.write(`stack ${input.name}: ${services.map((s) => `${s.service} ${s.ready}/${s.replicas}`).join(', ')} ready\n`);
    });
}
