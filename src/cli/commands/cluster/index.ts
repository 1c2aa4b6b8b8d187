import type { Command } from 'commander';
import type { CliDeps } from '../../context.js';
import init from './init.js';
import token from './token.js';
import join from './join.js';
import leave from './leave.js';
import remove from './remove.js';
import status from './status.js';

export default function register(program: Command, deps: CliDeps): void {
  const group = program
    .command('cluster')
    .description('grow this host into a cluster: init on the first host, token + join on the others (mutual TLS, etcd); see docs/cluster.md');
  for (const r of [init, token, join, leave, remove, status]) r(group, deps);
}
