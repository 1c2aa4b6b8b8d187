/**
 * One strict pattern for every name that reaches a path or a command: pools, images, tags,
 * datasets, snapshots, jails. Checked before anything is created.
 */
import { UserError } from './errors.js';

/** lowercase letters, digits, '-', '_' and '.'; starts with a letter or digit; 1–63 chars. */
export const NAME_RE = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const NAME_RULE = 'use 1-63 characters: lowercase letters, digits, ".", "_" or "-", starting with a letter or digit';

export type NameKind = 'pool' | 'image' | 'tag' | 'dataset' | 'snapshot' | 'jail' | 'service' | 'host' | 'volume';

export function checkName(kind: NameKind, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new UserError(`${kind} name is missing`, `give a ${kind} name: ${NAME_RULE}`);
  }
  if (!NAME_RE.test(value) || value.includes('..')) {
    throw new UserError(`invalid ${kind} name ${JSON.stringify(value)}`, NAME_RULE);
  }
  return value;
}

export interface ImageRef { name: string; tag: string }

/** Parses `NAME:TAG`. The tag is required unless `defaultTag` is given. */
export function parseImageRef(value: string, field = 'image', defaultTag?: string): ImageRef {
  const parts = value.split(':');
  if (parts.length > 2 || (parts.length === 1 && defaultTag === undefined)) {
    throw new UserError(`invalid ${field} ${JSON.stringify(value)}: expected NAME:TAG`, 'write it as NAME:TAG, for example site:v1');
  }
  const name = checkNameAs(field, 'image', parts[0]!);
  const tag = checkNameAs(field, 'tag', parts.length === 2 ? parts[1]! : defaultTag!);
  return { name, tag };
}

function checkNameAs(field: string, kind: NameKind, v: string): string {
  try {
    return checkName(kind, v);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${field}: ${e.message}`, e.fix);
    throw e;
  }
}

export function formatImageRef(r: ImageRef): string {
  return `${r.name}:${r.tag}`;
}

/**
 * A dataset is a path of names inside a pool: `images/site`, `jails/web1`. Each segment
 * follows NAME_RE, so a dataset can never climb out of its pool.
 */
export function checkDataset(value: string): string {
  if (typeof value !== 'string' || value === '') throw new UserError('dataset name is missing', 'give a dataset such as data/app');
  const segs = value.split('/');
  if (segs.length > 8) throw new UserError(`dataset ${JSON.stringify(value)} is nested too deeply`, 'use at most 8 path segments');
  for (const s of segs) {
    if (!NAME_RE.test(s)) {
      throw new UserError(`invalid dataset name ${JSON.stringify(value)}`, `each "/"-separated part must ${NAME_RULE.replace(/^use /, 'have ')}`);
    }
  }
  return value;
}

export interface SnapshotRef { dataset: string; snapshot: string }

/** Parses `dataset@name`. */
export function parseSnapshotRef(value: string): SnapshotRef {
  const at = value.indexOf('@');
  if (at < 0 || at !== value.lastIndexOf('@')) {
    throw new UserError(`invalid snapshot ${JSON.stringify(value)}: expected DATASET@NAME`, 'write it as DATASET@NAME, for example data/app@before-upgrade');
  }
  return { dataset: checkDataset(value.slice(0, at)), snapshot: checkName('snapshot', value.slice(at + 1)) };
}
