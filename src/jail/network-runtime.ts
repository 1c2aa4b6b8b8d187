/**
 * Applies the `ip` plans of net.ts through an injected Exec.
 *
 * - ensureBridge(): idempotent; creates the host's bridge, gives it the gateway address, up.
 * - setupJailNetwork(): every step registers its undo (Revert), so a failure part-way
 *   leaves no namespace and no veth behind.
 * - teardownJailNetwork(): idempotent; removes exactly the names derived from (instance,
 *   jail), whether or not they exist. Stop the jail's processes first: a namespace still
 *   held by a process lives on (with its veth) until that process exits.
 *
 * iproute2 failures are classified here (iproute2 6.1 wording, exit code 1 or 2).
 */
import { ExecError, UserError } from '../sys/errors.js';
import type { Exec } from '../sys/exec.js';
import { Revert } from '../sys/revert.js';
import { gatewayCidr, type Subnet } from './ipam.js';
import type { JailNames } from './naming.js';
import {
  addrAdd, batchPlan, bridgeAdd, checkIfName, jailNetworkPlan, jailTeardownPlan, linkAddrShow, linkDel, linkSetUp, linkShow,
  netnsList, parseAddrShow, parseLinkShow, parseNetnsList, type Argv,
} from './net.js';

/** iproute2 6.1, `ip link show/del` of a missing device: `Device "X" does not exist.` / `Cannot find device "X"`. */
export const IP_NO_DEVICE_RE = /does not exist|Cannot find device/;
/** iproute2 6.1, `ip netns del` of a missing namespace: `Cannot remove namespace file "...": No such file or directory`. */
export const IP_NO_NETNS_RE = /No such file or directory/;
/** iproute2 6.1, creating what exists: `RTNETLINK answers: File exists`, `Cannot create namespace file "...": File exists`, `Address already assigned`. */
export const IP_EXISTS_RE = /File exists|already assigned/;

const TIMEOUT_MS = 15_000;

export function classifyIpError(e: unknown): unknown {
  if (e instanceof ExecError && e.kind === 'failed') {
    if (IP_NO_DEVICE_RE.test(e.stderr) || IP_NO_NETNS_RE.test(e.stderr)) e.kind = 'not-found';
    else if (IP_EXISTS_RE.test(e.stderr)) e.kind = 'exists';
  }
  return e;
}

export class NetworkRuntime {
  constructor(private readonly exec: Exec, readonly bridge: string, readonly subnet: Subnet) {
    checkIfName('bridge', bridge);
  }

  private async ip(argv: Argv, input?: string): Promise<string> {
    try {
      return (await this.exec(argv, input === undefined ? { timeoutMs: TIMEOUT_MS } : { timeoutMs: TIMEOUT_MS, input })).stdout;
    } catch (e) {
      throw classifyIpError(e);
    }
  }

  /** Runs argv; a not-found failure counts as done. */
  private async ipGone(argv: Argv): Promise<void> {
    try {
      await this.ip(argv);
    } catch (e) {
      if (!(e instanceof ExecError && e.kind === 'not-found')) throw e;
    }
  }

  async linkExists(dev: string, netns?: string): Promise<boolean> {
    try {
      return parseLinkShow(await this.ip(linkShow(dev, netns))) !== undefined;
    } catch (e) {
      if (e instanceof ExecError && e.kind === 'not-found') return false;
      throw e;
    }
  }

  /**
   * One `ip` process when the bridge is as it should be (every jail start calls this): the
   * link's kind, flags and addresses come from one `ip -j -d addr show`; only what is
   * missing (the bridge, its gateway address, up) is then made.
   */
  async ensureBridge(): Promise<void> {
    let created = false;
    let link: ReturnType<typeof parseLinkShow>;
    let addrs: string[] = [];
    try {
      const out = await this.ip(linkAddrShow(this.bridge));
      link = parseLinkShow(out);
      addrs = parseAddrShow(out);
    } catch (e) {
      if (!(e instanceof ExecError && e.kind === 'not-found')) throw e;
    }
    if (link?.kind !== undefined && link.kind !== 'bridge') {
      throw new UserError(`network device ${this.bridge} exists and is a ${link.kind}, not a bridge`, 'configure another bridge name for jails');
    }
    if (!link) {
      await this.ip(bridgeAdd(this.bridge));
      created = true;
    }
    try {
      const want = gatewayCidr(this.subnet);
      if (!addrs.includes(want)) await this.ip(addrAdd(want, this.bridge));
      if (!link?.up) await this.ip(linkSetUp(this.bridge));
    } catch (e) {
      if (created) {
        await this.ipGone(linkDel(this.bridge)).catch((ce: unknown) => {
          if (e instanceof Error) e.message += ` (and the new bridge ${this.bridge} could not be removed: ${(ce as Error).message})`;
        });
      }
      throw e;
    }
  }

  /** Deletes the bridge (host teardown, tests); nothing happens when it is missing. */
  async removeBridge(): Promise<void> {
    await this.ipGone(linkDel(this.bridge));
  }

  /** Wires jail `n` with address `jailIp`; on failure removes whatever it made. */
  async setupJailNetwork(n: JailNames, jailIp: string): Promise<void> {
    // three processes instead of eight (ip -batch); on any failure the idempotent teardown
    // removes exactly what the plan makes (the veth and the namespace)
    const plan = batchPlan(jailNetworkPlan(n, this.bridge, this.subnet, jailIp).map((s) => s.argv));
    await Revert.run(async (r) => {
      r.add(`tear down the network of ${n.jail}`, () => this.teardownJailNetwork(n));
      for (const b of plan) await this.ip(b.argv, b.input);
    });
  }

  async teardownJailNetwork(n: JailNames): Promise<void> {
    for (const argv of jailTeardownPlan(n)) await this.ipGone(argv);
  }

  /** Names of the network namespaces that exist on this machine. */
  async listNetns(): Promise<string[]> {
    return parseNetnsList(await this.ip(netnsList()));
  }
}
