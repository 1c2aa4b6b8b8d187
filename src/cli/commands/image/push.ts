import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { createInterface } from 'node:readline';
import { printJson } from '../../output.js';
import type { HostPull, PushLine } from '../../../api/contract.js';
import { formatSize } from '../../../sys/size.js';
import { formatImageRef, parseImageRef } from '../../../sys/names.js';
import { UserError } from '../../../sys/errors.js';

export default function register(group: Command, deps: CliDeps): void {
  remote(group.command('push'))
    .description('distribute NAME:TAG from this host to every live host of the cluster: each pulls it over mutual TLS, incremental against the newest parent it holds')
    .argument('<image>', 'NAME:TAG, built or imported on this host')
    .addHelpText('after', [
      '',
      'Not required before apply: hosts pull the images their replicas need by themselves. Pushing ahead',
      'makes the first start (and a failover) faster.',
      '',
      'Examples:',
      '  cellblock image build site:v2 ./site && cellblock image push site:v2',
    ].join('\n'))
    .action(async (image: string, _opts: unknown, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      const ref = parseImageRef(image);
      // one JSON line per host as its pull ends: printed as it comes, or gathered for --json
      const hosts: HostPull[] = [];
      const lines = createInterface({ input: await api.stream('imagePush', { params: ref }), crlfDelay: Infinity });
      for await (const text of lines) {
        if (!text.trim()) continue;
        const msg = JSON.parse(text) as PushLine;
        if ('hosts' in msg) { if (!ctx.json) ctx.stdout.write(msg.hosts.length ? `pushing ${formatImageRef(ref)} to ${msg.hosts.join(', ')}\n` : `no other live host: ${formatImageRef(ref)} is announced, nothing to push\n`); }
        else if ('host' in msg) { hosts.push(msg); if (!ctx.json) ctx.stdout.write(`  ${hostLine(msg)}\n`); }
      }
      if (ctx.json) printJson(ctx, { image: formatImageRef(ref), hosts: hosts.sort((x, y) => (x.host < y.host ? -1 : 1)) });
      const failed = hosts.filter((h) => h.error);
      if (failed.length) throw new UserError(`${failed.length} of ${hosts.length} hosts did not get ${formatImageRef(ref)}`, 'see the errors above; hosts also pull it by themselves when a replica needs it');
    });
}

/** "h2: pulled from h0, incremental since site:v1, 3.0M in 0.1 s" */
export function hostLine(h: HostPull): string {
  if (h.error) return `${h.host}: failed: ${h.error}`;
  if (h.from === null) return `${h.host}: had it already`;
  return `${h.host}: pulled from ${h.from}, ${h.since ? `incremental since ${h.since}` : 'full stream'}, ${formatSize(h.bytes)} in ${h.seconds.toFixed(1)} s`;
}
