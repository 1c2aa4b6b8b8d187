import type { Command } from 'commander';
import { clientFor, remote } from '../../agent-client.js';
import type { CliDeps } from '../../context.js';
import { printResult } from '../../output.js';
import { wholeNumberOption } from '../jail/common.js';

export default function register(group: Command, deps: CliDeps): void {
  remote(group.command('token'))
    .description('print a single-use join token (valid 15 minutes unless --ttl): the secret a new host presents to cellblock cluster join')
    .option('--ttl <seconds>', 'how long the token is valid, 10 to 86400 seconds (default 900)')
    .addHelpText('after', '\nThe token also carries the start of the CA fingerprint, so the joining host can check it talks to this cluster.\n\nExamples:\n  cellblock cluster token\n  cellblock cluster token --ttl 120 --json')
    .action(async (opts: { ttl?: string }, cmd: Command) => {
      const { ctx, api } = clientFor(cmd, deps);
      const ttl = wholeNumberOption('--ttl', opts.ttl);
      const r = await api.call('clusterToken', { body: ttl !== undefined ? { ttlSeconds: ttl } : {} });
      printResult(ctx, r.token, r);
    });
}
