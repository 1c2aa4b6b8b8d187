/**
 * The jail-network settings of one data dir (one host): DATA_DIR/host.json, written on first
 * use. `instance` names the data dir in machine-wide resources (netns, veth, cgroups) so that
 * several instances can share one kernel; the bridge and the subnet are per host.
 */
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { UserError } from '../sys/errors.js';
import { readJson, writeJsonAtomic } from '../sys/fsutil.js';
import { DEFAULT_JAIL_SUBNET, parseSubnet, type Subnet } from './ipam.js';

export interface HostConfig {
  instance: string;
  subnet: string;
  bridge: string;
  /**
   * Disk limit of a jail created without --disk, as a size ("2G"); absent: 1G (model.ts
   * DEFAULT_DISK). Set by hand in host.json; a cluster's services take theirs from the cluster.
   */
  defaultDisk?: string;
}

export function hostConfigPath(dataDir: string): string {
  return join(dataDir, 'host.json');
}

/** A stable short id of a data dir: `h` + 8 hex digits of its absolute path's sha256. */
export function instanceFor(dataDir: string): string {
  return `h${createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 8)}`;
}

export function bridgeFor(instance: string): string {
  return `cbbr${createHash('sha256').update(instance).digest('hex').slice(0, 8)}`;
}

/** host.json as it is, or undefined when this data dir has none yet. */
export function readHostConfig(dataDir: string): Promise<HostConfig | undefined> {
  return readJson<HostConfig>(hostConfigPath(dataDir));
}

/** The host config with jail subnet `subnet` (pure); a data dir without one gets its defaults. */
export function withSubnet(dataDir: string, config: HostConfig | undefined, subnet: Subnet): HostConfig {
  if (config) return { ...config, subnet: subnet.cidr };
  const instance = instanceFor(dataDir);
  return { instance, subnet: subnet.cidr, bridge: bridgeFor(instance) };
}

/**
 * Writes host.json with jail subnet `subnet` (atomically; creating it when missing) and returns
 * what it wrote. The caller checks that no jail holds an address in the old subnet.
 */
export async function writeHostSubnet(dataDir: string, subnet: Subnet): Promise<HostConfig> {
  const config = withSubnet(dataDir, await readHostConfig(dataDir), subnet);
  await writeJsonAtomic(hostConfigPath(dataDir), config, 0o644);
  return config;
}

/** Reads host.json, creating it with defaults (or `subnet`) on first use. A different `subnet` later is refused. */
export async function loadHostConfig(dataDir: string, opts: { subnet?: string } = {}): Promise<{ config: HostConfig; subnet: Subnet }> {
  const path = hostConfigPath(dataDir);
  let config = await readJson<HostConfig>(path);
  if (!config) {
    const instance = instanceFor(dataDir);
    const subnet = parseSubnet('--subnet', opts.subnet ?? DEFAULT_JAIL_SUBNET);
    config = { instance, subnet: subnet.cidr, bridge: bridgeFor(instance) };
    await writeJsonAtomic(path, config, 0o644);
  } else if (opts.subnet !== undefined && parseSubnet('--subnet', opts.subnet).cidr !== config.subnet) {
    throw new UserError(`this host's jail subnet is ${config.subnet} (${path}); --subnet ${opts.subnet} differs`, `leave --subnet out, or remove every jail and ${path} to change it`);
  }
  return { config, subnet: parseSubnet('subnet', config.subnet) };
}
