/**
 * Several test "hosts" on one machine, wired like machines on one LAN, for multi-host e2e
 * tests. Nothing of it is in the root network namespace:
 *
 *   switch namespace cbsw-<r>:  bridge br0, ports p0 .. p<n-1>
 *   host namespace cbh<r>-<i>:  lo up, eth0 = 10.<X>.0.<i+1>/24 (veth peer of p<i>),
 *                               net.ipv4.ip_forward=1 (it routes for its jails)
 *
 * (<r>: 4 random hex digits per ClusterNet; X: random in 150..199 per ClusterNet.)
 * A host's agent runs inside its namespace (`nsenter --net=<nsPath>`, see agent-host.ts); its
 * jails' namespaces hang off a bridge inside the host namespace.
 *
 * cutLink(i) detaches the host's port from the switch: the host keeps its carrier, address
 * and routes, and simply hears nothing any more (a partition beyond its switch port).
 * teardown() deletes every namespace the ClusterNet made (which deletes the veths and the
 * bridge with them); it is idempotent and works on a half-made ClusterNet. Every namespace is
 * also in a module-level registry that a process 'exit' handler deletes (SIGINT/SIGTERM/SIGHUP
 * are turned into an exit), so a crashed or interrupted test still removes them.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import { readdir } from 'node:fs/promises';
import { exec, type ExecOptions, type ExecResult } from '../../src/sys/exec.js';

const NETNS_DIR = '/run/netns';
const BRIDGE = 'br0';

export interface NetHost {
  /** The network namespace's name (under /run/netns). */
  name: string;
  /** The host's address on the LAN (eth0), without prefix length. */
  address: string;
  nsPath: string;
}

/** What a TCP connect attempt found: open / refused (the host answered) or no answer. */
export type Probe = 'open' | 'refused' | 'timeout' | 'unreachable' | string;

// ---- safety net: namespaces of this process, deleted at exit whatever happened ----

const registry = new Set<string>();
let handlersInstalled = false;

function deleteRegisteredSync(): void {
  for (const name of registry) {
    spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    registry.delete(name);
  }
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', deleteRegisteredSync);
  // a signal would end the process without 'exit'; exit instead (128 + signal number, as a
  // shell reports it), which runs every 'exit' handler (agent-host.ts kills its agents there)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => process.exit(128 + (constants.signals[sig] ?? 0)));
  }
}

/** `ip ...` as a command for exec(). */
const ip = (...args: string[]) => ['ip', ...args];

export class ClusterNet {
  readonly hosts: NetHost[] = [];
  /** The switch namespace's name. */
  readonly switchName: string;
  /** The LAN: 10.<X>.0.0/24. */
  readonly cidr: string;
  private readonly made: string[] = [];

  private constructor(readonly tag: string, readonly octet: number) {
    this.switchName = `cbsw-${tag}`;
    this.cidr = `10.${octet}.0.0/24`;
  }

  /** Names of every namespace this ClusterNet makes (made or not yet). */
  get names(): string[] {
    return [this.switchName, ...this.hosts.map((h) => h.name)];
  }

  /**
   * Makes the switch and n hosts. opts.octet fixes X (10.X.0.0/24); default random 150..199.
   * opts.forwarding: false leaves net.ipv4.ip_forward as a new namespace gets it (the root
   * namespace's value), to test that the agent enables it itself.
   * On failure, removes whatever it made and rethrows.
   */
  static async create(n: number, opts: { octet?: number; forwarding?: boolean } = {}): Promise<ClusterNet> {
    if (!Number.isInteger(n) || n < 1 || n > 200) throw new Error(`ClusterNet.create: bad host count ${n}`);
    const octet = opts.octet ?? 150 + Math.floor(Math.random() * 50);
    const net = new ClusterNet(randomBytes(2).toString('hex'), octet);
    for (let i = 0; i < n; i++) {
      const name = `cbh${net.tag}-${i}`;
      net.hosts.push({ name, address: `10.${octet}.0.${i + 1}`, nsPath: `${NETNS_DIR}/${name}` });
    }
    try {
      await net.addNetns(net.switchName);
      const sw = net.switchName;
      await exec(ip('-n', sw, '-batch', '-'), { input: [`link set dev lo up`, `link add name ${BRIDGE} type bridge`, `link set dev ${BRIDGE} up`].join('\n') + '\n' });
      for (const [i, h] of net.hosts.entries()) {
        await net.addNetns(h.name);
        // the veth is born in the switch namespace with its other end directly in the host's
        await exec(ip('-n', sw, 'link', 'add', 'name', `p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.name));
        await exec(ip('-n', sw, 'link', 'set', 'dev', `p${i}`, 'master', BRIDGE, 'up'));
        await exec(ip('-n', h.name, '-batch', '-'), { input: [`link set dev lo up`, `addr add ${h.address}/24 dev eth0`, `link set dev eth0 up`].join('\n') + '\n' });
        if (opts.forwarding !== false) await net.run(i, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      }
    } catch (e) {
      await net.teardown().catch(() => {});
      throw e;
    }
    return net;
  }

  private async addNetns(name: string): Promise<void> {
    installHandlers();
    registry.add(name); // before: a crash right after `ip netns add` still finds it
    this.made.push(name);
    await exec(ip('netns', 'add', name));
  }

  private host(i: number): NetHost {
    const h = this.hosts[i];
    if (!h) throw new Error(`no host ${i} (there are ${this.hosts.length})`);
    return h;
  }

  /** Runs argv inside host i's network namespace (only the network namespace: /sys and the cgroups stay the machine's). */
  run(i: number, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return exec(['nsenter', `--net=${this.host(i).nsPath}`, '--', ...argv], opts);
  }

  /** Partitions host i: its switch port leaves the bridge. Nothing changes inside the host's namespace. */
  async cutLink(i: number): Promise<void> {
    this.host(i);
    await exec(ip('-n', this.switchName, 'link', 'set', 'dev', `p${i}`, 'nomaster'));
  }

  /** Undoes cutLink(i). */
  async restoreLink(i: number): Promise<void> {
    this.host(i);
    await exec(ip('-n', this.switchName, 'link', 'set', 'dev', `p${i}`, 'master', BRIDGE, 'up'));
  }

  /** `ip route replace <cidr> via <gateway>` inside host i (e.g. another host's jail subnet via its address). */
  async route(i: number, cidr: string, via: string): Promise<void> {
    await exec(ip('-n', this.host(i).name, 'route', 'replace', cidr, 'via', via));
  }

  /** A TCP connect from inside host i to host:port. 'refused' also proves the address answered. */
  async probe(i: number, host: string, port: number, timeoutMs = 1500): Promise<Probe> {
    const code = `const s = require('net').connect({ host: ${JSON.stringify(host)}, port: ${port} });
      const done = (r) => { console.log(r); process.exit(0); };
      setTimeout(() => done('timeout'), ${timeoutMs});
      s.on('connect', () => done('open'));
      s.on('error', (e) => done(e.code === 'ECONNREFUSED' ? 'refused' : e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' ? 'unreachable' : String(e.code)));`;
    return (await this.run(i, [process.execPath, '-e', code], { timeoutMs: timeoutMs + 10_000 })).stdout.trim();
  }

  /** True when host i gets any answer (open or refused) from host:port. */
  async reaches(i: number, host: string, port = 9, timeoutMs = 1500): Promise<boolean> {
    const r = await this.probe(i, host, port, timeoutMs);
    return r === 'open' || r === 'refused';
  }

  /** An HTTP GET from inside host i; a network failure is thrown with its cause. */
  async httpGet(i: number, url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
    const code = `fetch(${JSON.stringify(url)}, { signal: AbortSignal.timeout(${timeoutMs}) })
      .then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })))
      .catch((e) => { console.error(String(e.cause ?? e)); process.exit(1); });`;
    const r = await this.run(i, [process.execPath, '-e', code], { timeoutMs: timeoutMs + 10_000 });
    return JSON.parse(r.stdout) as { status: number; body: string };
  }

  /** Namespaces of this ClusterNet that still exist. */
  async leftovers(): Promise<string[]> {
    const names = await readdir(NETNS_DIR).catch(() => [] as string[]);
    const mine = new Set(this.names);
    return names.filter((n) => mine.has(n)).sort();
  }

  /**
   * Deletes every namespace this ClusterNet made (hosts first, then the switch), whatever
   * state they are in; a missing one counts as deleted. A namespace still held by a process
   * (an agent that was not stopped) loses its name but lives on until that process exits.
   */
  async teardown(): Promise<void> {
    const errors: string[] = [];
    const failed: string[] = [];
    for (const name of [...this.made].reverse()) {
      try {
        await exec(ip('netns', 'del', name));
      } catch (e) {
        if (!/No such file or directory/.test((e as { stderr?: string }).stderr ?? '')) {
          errors.push((e as Error).message);
          failed.unshift(name);
          continue; // stays registered for the exit handler and for another teardown()
        }
      }
      registry.delete(name);
    }
    this.made.splice(0, this.made.length, ...failed);
    if (errors.length) throw new Error(`ClusterNet teardown: ${errors.join('; ')}`);
  }
}
