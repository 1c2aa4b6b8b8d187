/** Every command group, registered on the root program. One file per command under each group. */
import type { Command } from 'commander';
import type { CliDeps } from '../context.js';
import pool from './pool/index.js';
import host from './host/index.js';
import image from './image/index.js';
import dataset from './dataset/index.js';
import snapshot from './snapshot/index.js';
import agent from './agent.js';
import jail from './jail/index.js';
import stack from './stack/index.js';
import cluster from './cluster/index.js';
import apply from './stack/apply.js';
import diff from './stack/diff.js';
import status from './stack/status.js';
import del from './stack/delete.js';
import lab from './lab/index.js';
import rollout from './rollout/index.js';
import lb from './lb/index.js';

export type RegisterGroup = (program: Command, deps: CliDeps) => void;

export const COMMAND_GROUPS: RegisterGroup[] = [pool, image, host, dataset, snapshot, agent, jail, stack, cluster, apply, diff, status, del, lab, rollout, lb];
