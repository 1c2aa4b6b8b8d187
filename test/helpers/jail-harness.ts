/**
 * Real jails for integration tests: the same steps the agent takes (lease, bridge, jail
 * network, bundle, `runc run`), with the real RuncRuntime, writeBundle and NetworkRuntime.
 *
 * One JailLab per test file: a temporary data dir, an instance `t<4hex>`, a bridge
 * `cbt<4hex>` and a subnet 10.231.<R>.0/24 whose third octet no host address uses. Jails
 * started in it are torn down by `lab.teardown()` (runc delete, netns and veth, bridge, the
 * cgroup parents, the data dir), step by step, each step attempted even when an earlier one
 * failed, and idempotent, so a test that already removed something can still call it.
 *
 *   const skip = await jailSkipReason();
 *   let lab: JailLab;
 *   before(async () => { if (!skip) lab = await JailLab.open(); });
 *   after(async () => { await lab?.teardown(); });
 *   test('...', { skip }, async () => { const j = await lab.start({ name: 'web', command: [...] }); ... });
 */
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { exec, whichTool, type ExecResult } from '../../src/sys/exec.js';
import { parseSubnet, type Subnet } from '../../src/jail/ipam.js';
import { LeaseStore } from '../../src/jail/leases.js';
import { parseJailSpec, type JailSpec } from '../../src/jail/model.js';
import { jailNames, type JailNames } from '../../src/jail/naming.js';
import { probeHost } from '../../src/jail/host.js';
import { writeBundle } from '../../src/jail/bundle.js';
import type { HostInfo } from '../../src/jail/oci.js';
import { NetworkRuntime } from '../../src/jail/network-runtime.js';
import { RuncRuntime } from '../../src/jail/runtime.js';
import type { RuncExecOptions, RuncState } from '../../src/jail/runc.js';
import { cgroupDirs, removeCgroupParents } from '../../src/jail/cgroups.js';
import { parseAccounts } from '../../src/jail/accounts.js';
import { readAccountFiles } from '../../src/jail/etc-scan.js';

export const PYTHON = '/usr/bin/python3';

/** Why jail integration tests cannot run here, or undefined when they can. */
export async function jailSkipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (runs runc and creates network namespaces)';
  for (const t of ['runc', 'ip', 'nsenter']) if (!(await whichTool(t))) return `needs ${t} on PATH`;
  try { await access(PYTHON); } catch { return `needs ${PYTHON} (the jails run python3 programs)`; }
  return undefined;
}

export interface JailOptions {
  name: string;
  command: string[];
  memory?: string;
  cpus?: string;
  pids?: string;
  /** UID[:GID]; root when unset. */
  user?: string;
  env?: string[];
  rw?: string[];
  /** PATH=SOURCE entries for the jail's /etc (see src/jail/etc-spec.ts). */
  etc?: string[];
  /** Files of the image (relative path -> content), mounted read-only at /app. */
  files?: Record<string, string>;
}

export type ExecOpts = RuncExecOptions & { timeoutMs?: number };

export interface RunningJail {
  names: JailNames;
  spec: JailSpec;
  ip: string;
  /** Host PID of the jail's init process. */
  pid: number;
  bundleDir: string;
  logFile: string;
  /** Runs argv in the jail; a non-zero exit throws an ExecError (with the exit code and stderr). */
  exec(argv: readonly string[], o?: ExecOpts): Promise<ExecResult>;
  /** Runs argv in the jail and returns whatever exit code it had (128+N when killed by signal N). */
  run(argv: readonly string[], o?: ExecOpts): Promise<ExecResult>;
  state(): Promise<RuncState | undefined>;
  /** Host dir of the jail's cgroup in hierarchy `name` (v1 controller name, or 'unified'). */
  cgroupDir(name: string): Promise<string>;
  readCgroup(name: string, file: string): Promise<string>;
  log(): Promise<string>;
  /** Deletes the container and its network; the lab's teardown does it too. */
  teardown(): Promise<void>;
}

const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);

/** A third octet for 10.231.X.0/24 that no address on this machine uses. */
async function freeTestSubnet(): Promise<Subnet> {
  const used = (await exec(['ip', '-4', '-o', 'addr', 'show'])).stdout;
  for (let i = 0; i < 50; i++) {
    const x = randomInt(1, 255);
    if (!used.includes(`inet 10.231.${x}.`)) return parseSubnet('test subnet', `10.231.${x}.0/24`);
  }
  throw new Error('no free 10.231.X.0/24 test subnet');
}

export class JailLab {
  private readonly jails = new Map<string, RunningJail>();
  private host: HostInfo | undefined;

  private constructor(
    /** The data dir: runc state, leases, bundles, writable dirs. Removed by teardown. */
    readonly dataDir: string,
    readonly instance: string,
    readonly bridge: string,
    readonly subnet: Subnet,
    readonly rt: RuncRuntime,
    readonly net: NetworkRuntime,
  ) {}

  static async open(prefix = 'cbjail-'): Promise<JailLab> {
    const suffix = randomBytes(2).toString('hex');
    const subnet = await freeTestSubnet();
    const dataDir = await mkdtemp(join(tmpdir(), prefix));
    return new JailLab(dataDir, `t${suffix}`, `cbt${suffix}`, subnet,
      RuncRuntime.forDataDir(exec, dataDir), new NetworkRuntime(exec, `cbt${suffix}`, subnet));
  }

  async hostInfo(): Promise<HostInfo> {
    this.host ??= await probeHost();
    return this.host;
  }

  names(jail: string): JailNames {
    return jailNames(this.instance, jail);
  }

  /** The spec `start` would run, without running anything (image files are written). */
  async prepare(o: JailOptions): Promise<JailSpec> {
    const image = join(this.dataDir, 'images', o.name);
    await mkdir(image, { recursive: true, mode: 0o755 });
    for (const [rel, content] of Object.entries(o.files ?? {})) {
      await mkdir(dirname(join(image, rel)), { recursive: true, mode: 0o755 });
      await writeFile(join(image, rel), content, { mode: 0o644 });
    }
    return parseJailSpec({
      name: o.name, image: `${o.name}:v1`, imagePath: image, writablePath: join(this.dataDir, 'writable', o.name),
      memory: o.memory, cpus: o.cpus, pids: o.pids, user: o.user, env: o.env, rw: o.rw, etc: o.etc, command: o.command,
    }, { instance: this.instance, hostCpus: cpus().length, accounts: parseAccounts(await readAccountFiles()) });
  }

  /** Lease, bridge, jail network, bundle, `runc run --detach`: a running jail. */
  async start(o: JailOptions): Promise<RunningJail> {
    if (this.jails.has(o.name)) throw new Error(`test bug: jail ${o.name} started twice`);
    const spec = await this.prepare(o);
    const names = this.names(o.name);
    const ip = await LeaseStore.forDataDir(this.dataDir, this.subnet).acquire(o.name);
    const bundleDir = join(this.dataDir, 'jails', o.name);
    const logFile = join(this.dataDir, `${o.name}.log`);
    const rt = this.rt;
    const jail: RunningJail = {
      names, spec, ip, pid: 0, bundleDir, logFile,
      exec: (argv, eo = {}) => rt.execIn(names.containerId, argv, eo),
      run: (argv, eo = {}) => rt.execIn(names.containerId, argv, { ...eo, okCodes: ANY_EXIT }),
      state: () => rt.state(names.containerId),
      cgroupDir: async (name) => {
        const dirs = await cgroupDirs(names.cgroupsPath);
        // v1 controllers may share a hierarchy mounted as e.g. cpu,cpuacct
        const d = dirs[name] ?? Object.entries(dirs).find(([k]) => k.split(',').includes(name))?.[1];
        if (!d) throw new Error(`no cgroup hierarchy ${name} on this host`);
        return d;
      },
      readCgroup: async (name, file) => (await readFile(join(await jail.cgroupDir(name), file), 'utf8')).trim(),
      log: () => readFile(logFile, 'utf8').catch(() => ''),
      teardown: async () => {
        await rt.delete(names.containerId);
        await this.net.teardownJailNetwork(names);
      },
    };
    this.jails.set(o.name, jail); // registered before anything exists: teardown removes whatever got made
    await this.net.ensureBridge();
    await this.net.setupJailNetwork(names, ip);
    await writeBundle(bundleDir, { spec, host: await this.hostInfo(), ip, resolver: { nameservers: [], search: [] } });
    jail.pid = await rt.run(names.containerId, bundleDir, logFile);
    return jail;
  }

  /** Removes everything the lab made: every step is tried; then throws what could not be removed. */
  async teardown(): Promise<void> {
    const problems: string[] = [];
    const step = async (what: string, fn: () => Promise<unknown>) => {
      try { await fn(); } catch (e) { problems.push(`${what}: ${e instanceof Error ? e.message : String(e)}`); }
    };
    for (const [name, j] of this.jails) {
      await step(`runc delete ${name}`, () => this.rt.delete(j.names.containerId));
      await step(`network of ${name}`, () => this.net.teardownJailNetwork(j.names));
    }
    await step('bridge', () => this.net.removeBridge());
    await step('cgroups', () => removeCgroupParents(this.instance));
    await step('data dir', () => rm(this.dataDir, { recursive: true, force: true }));
    if (problems.length) throw new Error(`jail lab ${this.instance} cleanup failed:\n  ${problems.join('\n  ')}`);
  }
}

/** One jail in a lab of its own; its teardown removes the lab too. */
export async function startJail(o: JailOptions): Promise<RunningJail & { lab: JailLab }> {
  const lab = await JailLab.open();
  try {
    const j = await lab.start(o);
    return { ...j, lab, teardown: () => lab.teardown() };
  } catch (e) {
    await lab.teardown().catch((e2: unknown) => console.error(e2));
    throw e;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
