/**
 * The PortProbe of `apply` (agent/services/stacks.ts): this host reads its own /proc
 * (lb/ports.ts), every other live host is asked through `POST /v1/lb/ports`, as image push
 * asks them (agent/images.ts). A host that cannot answer fails the apply: a port could not be
 * known to be free there.
 */
import { K } from '../cluster/keys.js';
import type { HostLive } from '../cluster/model.js';
import type { TlsMaterial } from '../cluster/pki.js';
import type { Store } from '../cluster/store.js';
import { ApiClient } from '../api/client.js';
import type { PortsReply } from '../api/contract.js';
import { UserError } from '../sys/errors.js';
import type { HostPortInUse } from './apply.js';
import { portsInUse, realProc, type ProcFs } from './ports.js';

export interface PortProbeDeps {
  store: Store;
  /** This host's name. */
  host: string;
  /** Absent on a single host that is in no cluster: no other host to ask. */
  tls: TlsMaterial | undefined;
  proc?: ProcFs;
  /** How long one host may take to answer. */
  timeoutMs?: number;
}

export function portProbe(d: PortProbeDeps) {
  const here = async (ports: number[]): Promise<PortsReply> => ({ host: d.host, inUse: await portsInUse(ports, d.proc ?? realProc) });
  const inUse = async (ports: number[]): Promise<HostPortInUse[]> => {
    const others = [...(await d.store.mapJson<HostLive>(K.hostsLive)).values()].filter((h) => h.name !== d.host);
    const replies = await Promise.all([
      here(ports),
      ...others.map(async (h) => {
        if (!d.tls) throw new UserError('this host is not in a cluster, but other hosts are live', 'run cellblock cluster init (first host) or cellblock cluster join ADDR --token T');
        try {
          return await ApiClient.forPeer(d.tls, { name: h.name, address: h.address, apiPort: h.apiPort }, { timeoutMs: d.timeoutMs ?? 10_000 }).call('lbPorts', { body: { ports } });
        } catch (err) {
          throw new UserError(`could not ask host ${h.name} which ports are in use: ${(err as Error).message}`, 'check that host (cellblock host list) and apply again; nothing was applied');
        }
      }),
    ]);
    return replies.flatMap((r) => r.inUse.map((u) => ({ host: r.host, ...u })));
  };
  return { here, inUse };
}
