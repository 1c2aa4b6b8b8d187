import type { Command } from 'commander';
import type { CliDeps } from '../../main.js';
import { printJson, printTable } from '../../output.js';
import { agentClient } from '../cluster/common.js';
import type { PullResult } from '../../../agent/images.js';
import { formatSize } from '../../../sys/size.js';
import { formatImageRef, parseImageRef } from '../../../sys/names.js';
import { UserError } from '../../../sys/errors.js';

type HostPull = PullResult & { host: string; error: string | null };

export default function register(group: Command, deps: CliDeps): void {
  group
    .command('push')
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
      const { ctx, api } = agentClient(cmd, deps);
      const ref = parseImageRef(image);
      if (!ctx.json) ctx.stdout.write(`pushing ${formatImageRef(ref)} to every live host...\n`);
      const r = await api.call<{ image: string; hosts: HostPull[] }>('POST', `/v1/images/${ref.name}/${ref.tag}/push`, {});
      if (ctx.json) printJson(ctx, r);
      else printTable(ctx, ['host', 'result', 'stream', 'bytes', 'seconds'], r.hosts.map((h) => [
        h.host, h.error ? `failed: ${h.error}` : h.from === null ? 'had it' : `pulled from ${h.from}`,
        h.from === null ? '-' : h.since ? `incremental since ${h.since}` : 'full', h.from === null ? '-' : formatSize(h.bytes), h.seconds.toFixed(1),
      ]), r);
      const failed = r.hosts.filter((h) => h.error);
      if (failed.length) throw new UserError(`${failed.length} of ${r.hosts.length} hosts did not get ${r.image}`, 'see the errors above; hosts also pull it by themselves when a replica needs it');
    });
}
