/**
 * The checks cluster init and join make before anything changes: the address to advertise
 * and the ports this host will listen on.
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { createServer } from 'node:net';
import { contains, parseIPv4, parseSubnet } from '../jail/ipam.js';
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT } from '../cluster/config.js';
import { UserError } from '../sys/errors.js';

/**
 * The one IPv4 address of this host (its network namespace) that is neither loopback nor in
 * its jail subnet (the jail bridge has an address there), for a missing --advertise.
 */
export function defaultAdvertise(jailSubnet: string, ifaces = networkInterfaces()): string {
  const jails = parseSubnet('subnet', jailSubnet);
  const found = Object.values(ifaces).flatMap((l) => l ?? [])
    .filter((i) => i.family === 'IPv4' && !i.internal && !contains(jails, parseIPv4('address', i.address)))
    .map((i) => i.address);
  const uniq = [...new Set(found)];
  if (uniq.length === 1) return uniq[0]!;
  throw new UserError(
    uniq.length === 0 ? 'this host has no IPv4 address besides loopback to advertise' : `this host has several addresses (${uniq.join(', ')}); which one do the other hosts reach it at?`,
    'pass --advertise ADDR',
  );
}

export function checkAddress(flag: string, a: unknown): string {
  if (typeof a !== 'string' || isIP(a) === 0) throw new UserError(`${flag} ${JSON.stringify(a)} is not an IP address`, `give this host's address on the network the other hosts share, e.g. ${flag} 192.0.2.10`);
  return a;
}

/**
 * Refuses when a port this host needs in the cluster is taken on its address (etcd's 2379 also
 * on 127.0.0.1): Debian's own etcd service, most often. Checked before anything changes.
 */
export async function checkPortsFree(address: string, ports: readonly number[]): Promise<void> {
  const targets: [string, number][] = ports.map((p) => [address, p]);
  if (ports.includes(ETCD_CLIENT_PORT)) targets.push(['127.0.0.1', ETCD_CLIENT_PORT]);
  for (const [host, port] of targets) {
    const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const srv = createServer();
      srv.once('error', (e: NodeJS.ErrnoException) => resolve(e));
      srv.listen(port, host, () => srv.close(() => resolve(undefined)));
    });
    if (!err) continue;
    const etcd = port === ETCD_CLIENT_PORT || port === ETCD_PEER_PORT;
    throw new UserError(
      `cannot use ${host}:${port} for this host's ${etcd ? 'etcd member' : 'agent'}: ${err.code === 'EADDRINUSE' ? 'another program listens there' : err.message}`,
      err.code !== 'EADDRINUSE' ? 'check --advertise: it must be an address of this host'
        : etcd ? 'stop it; if it is Debian\'s etcd service: systemctl disable --now etcd (cellblock runs its own)'
        : 'stop the program that listens there, or choose other ports with --api-port / --join-port',
    );
  }
}

/** The ports of an etcd member (see checkPortsFree). */
export const checkEtcdPorts = (address: string): Promise<void> => checkPortsFree(address, [ETCD_CLIENT_PORT, ETCD_PEER_PORT]);

