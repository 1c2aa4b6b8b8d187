/**
 * JailManager: the agent's JailService. Creation is atomic (a Revert undoes every step when a
 * later one fails); one operation at a time per jail; all state on disk (record.ts) and in
 * runc, so a restarted agent adopts running jails without touching them. The supervisor loop
 * (supervisor.ts) applies restart policies.
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { readFile, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { ANY_CODE, type Exec } from '../sys/exec.js';
import { ExecError, ExistsError, UserError } from '../sys/errors.js';
import { checkName, formatImageRef, parseImageRef } from '../sys/names.js';
import { formatSize } from '../sys/size.js';
import { Revert } from '../sys/revert.js';
import { logWarn } from '../sys/log.js';
import { openPool } from '../storage/pools.js';
import type { StorageDriver } from '../storage/driver.js';
import { getImage, imageSnapshot } from '../storage/images/store.js';
import { writeBundle } from './bundle.js';
import { resolverFromResolvConf } from './etc.js';
import { probeHost } from './host.js';
import { loadHostConfig, readHostConfig, writeHostSubnet, type HostConfig } from './host-config.js';
import { leaseFilePath, LeaseStore } from './leases.js';
import { layoutOf, startJail, stopJail } from './lifecycle.js';
import { logStream } from './logs.js';
import { parseDisk, parseEnv, parseJailSpec, parseUser } from './model.js';
import { jailNames } from './naming.js';
import { NetworkRuntime } from './network-runtime.js';
import type { HostInfo } from './oci.js';
import { bundleDirOf, getRecord, jailDir, listRecords, readRecord, writeRecord, type JailRecord } from './record.js';
import { RuncRuntime } from './runtime.js';
import type { ExecOutput, ExecRequest, JailCreateRequest, JailDisk, JailInspect, JailService, JailView, LogsRequest } from './service.js';
import { Supervisor } from './supervisor.js';
import type { RuncState } from './runc.js';
import { RunningCache } from './liveness.js';
import { checkCommandInJail } from './paths.js';
import { cgroupUsage } from './usage.js';
import { removeCgroupParents } from './cgroups.js';
import { checkRequestedIp, parseSubnet } from './ipam.js';
import { readHostEtc } from './etc-view.js';
import { readAccountFiles } from './etc-scan.js';
import { parseAccounts } from './accounts.js';
import { diskOf, limitDisk, poolSize } from './disk.js';
import { timed, type OnStep } from './timing.js';

export interface JailManagerOptions {
  exec: Exec;
  dataDir: string;
  log?: Logger;
  /** Jail subnet of this host, fixed on first use (default 10.77.0.0/24). */
  subnet?: string;
  pool?: string;
  /** Supervisor pass interval. */
  intervalMs?: number;
  /** Told how long each step of a create or start took (benchmarks); nothing is timed without it. */
  onStep?: OnStep;
}

export class JailManager implements JailService {
  readonly dataDir: string;
  private readonly sys: Exec;
  private readonly log: Logger | undefined;
  private ready: Promise<{ config: HostConfig; leases: LeaseStore; net: NetworkRuntime; host: HostInfo; driver: StorageDriver }> | undefined;
  readonly runc: RuncRuntime;
  /** runc's state, cached while a jail's init process surely runs (liveness.ts). */
  private readonly liveness: RunningCache;
  private locks = new Map<string, Promise<unknown>>();
  private supervisor: Supervisor | undefined;
  /** The subnet asked for: the option, then the last changeSubnet(). */
  private subnet: string | undefined;

  constructor(private readonly o: JailManagerOptions) {
    this.subnet = o.subnet;
    this.sys = o.exec;
    this.dataDir = o.dataDir;
    this.log = o.log;
    this.runc = RuncRuntime.forDataDir(o.exec, o.dataDir);
    this.liveness = new RunningCache(this.runc);
  }

  /** Host config, pool, network runtime and host probe, loaded once. */
  env() {
    this.ready ??= (async () => {
      const { config, subnet } = await loadHostConfig(this.dataDir, { subnet: this.subnet });
      const driver = await openPool({ exec: this.sys, dataDir: this.dataDir }, this.o.pool, { create: true });
      return { config, leases: LeaseStore.forDataDir(this.dataDir, subnet), net: new NetworkRuntime(this.sys, config.bridge, subnet), host: await probeHost(), driver };
    })();
    this.ready.catch(() => { this.ready = undefined; });
    return this.ready;
  }

  /** Opens the manager for the agent: ensures the bridge, adopts running jails, starts the supervisor loop. */
  async open(): Promise<void> {
    const e = await this.env();
    await e.net.ensureBridge();
    this.supervisor = new Supervisor(this, this.log, this.o.intervalMs ?? 1000);
    await this.supervisor.pass();
    this.supervisor.run();
  }

  /**
   * Stops the supervisor; jails keep running. When the host has no jails left, the bridge and
   * the instance's cgroup parents go too, so a host that is done with cellblock holds nothing.
   */
  async close(): Promise<void> {
    await this.supervisor?.stop();
    await Promise.allSettled([...this.locks.values()]);
    if (this.ready && (await listRecords(this.dataDir)).length === 0) {
      const e = await this.env();
      await e.net.removeBridge();
      await removeCgroupParents(e.config.instance).catch((err: unknown) => this.warn(err, 'removing the cgroup parents failed; the next close or remove tries again'));
    }
  }

  /**
   * Changes this host's jail subnet (a host joining a cluster gets its subnet from the cluster).
   * Refused while the host has jails: their addresses, bundles and routes are in the old one.
   * Rewrites host.json, forgets the (empty) leases, and deletes the bridge with the old gateway
   * address; a bridge that existed is made again at once with the new one, else on next use.
   * The same subnet again changes nothing.
   */
  async changeSubnet(cidr: string): Promise<void> {
    const next = parseSubnet('--subnet', cidr);
    await this.locked('*', async () => {
      const current = await readHostConfig(this.dataDir);
      if (current?.subnet === next.cidr) {
        this.subnet = next.cidr;
        return;
      }
      const jails = (await listRecords(this.dataDir)).map((r) => r.name);
      if (jails.length) {
        throw new UserError(`this host has jails (${jails.join(', ')}); its jail subnet cannot change under them`, 'remove them first, or keep the subnet with --subnet');
      }
      let hadBridge = false;
      if (current) {
        const old = new NetworkRuntime(this.sys, current.bridge, parseSubnet('subnet', current.subnet));
        hadBridge = await old.linkExists(current.bridge);
        if (hadBridge) await old.removeBridge(); // nothing is attached: there are no jails
      }
      const config = await writeHostSubnet(this.dataDir, next);
      await rm(leaseFilePath(this.dataDir), { force: true }); // no jail holds a lease (checked above, under the allocation lock)
      this.subnet = next.cidr;
      const net = new NetworkRuntime(this.sys, config.bridge, next);
      const prev = this.ready;
      if (prev) {
        this.ready = prev.then((e) => ({ ...e, config, leases: LeaseStore.forDataDir(this.dataDir, next), net }));
        this.ready.catch(() => { this.ready = undefined; });
      }
      if (hadBridge) await net.ensureBridge();
      this.log?.info({ subnet: next.cidr, was: current?.subnet }, `jail subnet of this host changed to ${next.cidr}${current ? ` (was ${current.subnet})` : ''}`);
    });
  }

  /** Runs fn with the jail's lock held: one operation at a time per jail ("*" for allocation). */
  locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    // the previous holder's failure went to its own caller; here it only ends its turn
    const next = prev.catch(() => {}).then(fn);
    this.locks.set(key, next);
    // this failure goes to our caller through `next`; the chain only tidies the lock map
    void next.catch(() => {}).finally(() => { if (this.locks.get(key) === next) this.locks.delete(key); });
    return next;
  }

  async lifecycleDeps() {
    const e = await this.env();
    return { exec: this.sys, dataDir: this.dataDir, runc: this.runc, net: e.net, ...(this.o.onStep ? { onStep: this.o.onStep } : {}) };
  }

  async create(req: JailCreateRequest): Promise<JailView> {
    const name = checkName('jail', req.name);
    return this.locked('*', () => this.locked(name, async () => {
      const t = this.o.onStep;
      const e = await this.env();
      if (await readRecord(this.dataDir, name)) throw new ExistsError(`jail ${name} already exists`, `pick another name, or remove it first: cellblock jail rm ${name}`);
      const ref = parseImageRef(req.image, '--image');
      const dataset = `jails/${name}`;
      // validate everything before anything is made
      const validateT0 = t ? performance.now() : 0;
      // the reads run together (they only read); failures are reported in the order below
      const imgRead = getImage(this.dataDir, ref);
      imgRead.catch(() => {}); // awaited below, where its failure is thrown (unless the spec fails first)
      const [hostEtc, poolBytes] = await Promise.all([readHostEtc(), poolSize(e.driver.pool.mountpoint)]);
      const spec = parseJailSpec({ ...req, imagePath: '/', writablePath: '/' }, {
        instance: e.config.instance, hostCpus: cpus().length, accounts: parseAccounts(hostEtc.accounts),
        defaultDisk: e.config.defaultDisk === undefined ? undefined : parseDisk('host.json defaultDisk', e.config.defaultDisk),
        poolBytes,
      });
      const img = await imgRead;
      if (img.pool !== e.driver.pool.name) throw new UserError(`image ${formatImageRef(ref)} is in pool ${img.pool}, jails use pool ${e.driver.pool.name}`, `build or import the image into pool ${e.driver.pool.name}`);
      spec.imagePath = e.driver.snapshotPath(imageSnapshot(ref));
      spec.writablePath = e.driver.datasetPath(dataset);
      await checkCommandInJail(spec, e.host, bundleDirOf(this.dataDir, name));
      if (spec.ip !== undefined) {
        // checked against the subnet and the other leases before anything is made
        checkRequestedIp(e.leases.subnet, spec.ip, await e.leases.read(), name);
      }
      t?.('validate', performance.now() - validateT0);
      let pid: number | undefined;
      const rec = await Revert.run(async (r) => {
        await timed(t, 'dataset', async () => {
          if (await e.driver.datasetExists(dataset)) await e.driver.destroyDataset(dataset); // no record points at it
          await e.driver.createDataset(dataset);
        });
        r.add(`remove dataset ${dataset}`, () => e.driver.destroyDataset(dataset));
        await timed(t, 'disk limit', () => limitDisk(e.driver, dataset, spec.diskBytes, name, this.log));
        const ip = await timed(t, 'lease', () => e.leases.acquire(name, spec.ip));
        r.add(`release ${ip}`, () => e.leases.release(name));
        spec.ip = ip;
        r.add(`remove ${jailDir(this.dataDir, name)}`, () => rm(jailDir(this.dataDir, name), { recursive: true, force: true }));
        await timed(t, 'bundle', () => this.writeJailBundle(spec, ip, hostEtc));
        const now = new Date().toISOString();
        const rec: JailRecord = {
          name, spec, ip, pool: e.driver.pool.name, dataset, createdAt: now, desired: req.start ? 'running' : 'stopped', state: 'created',
          startedAt: null, diedAt: null, restarts: 0, lastExitCode: null, lastExitReason: null,
        };
        await timed(t, 'record', () => writeRecord(this.dataDir, rec));
        if (req.start) pid = (await this.startRecorded(rec, 0, { fresh: true })).pid;
        return rec;
      });
      this.log?.info({ jail: name, ip: rec.ip, image: formatImageRef(ref) }, `created jail ${name}`);
      return timed(t, 'view', () => this.view(rec, pid === undefined ? undefined : { status: 'running', pid }));
    }));
  }

  /**
   * Changes a jail's disk limit in place, running or not: the file system applies it at once
   * (no restart). Refused below MIN_DISK, above the pool's size, or below what the jail holds now.
   */
  setDisk(name: string, disk: string | number): Promise<JailView> {
    return this.locked(checkName('jail', name), async () => {
      const e = await this.env();
      const rec = await getRecord(this.dataDir, name);
      const bytes = parseDisk('--disk', disk, await poolSize(e.driver.pool.mountpoint));
      if (e.driver.info.diskLimit !== null) {
        const used = (await e.driver.diskUse(rec.dataset)).used;
        if (bytes < used) throw new UserError(`--disk: jail ${name} already holds ${formatSize(used)}, more than ${formatSize(bytes)}`, `free space in the jail first, or give at least ${formatSize(used)}`);
      }
      await limitDisk(e.driver, rec.dataset, bytes, name, this.log);
      rec.spec.diskBytes = bytes;
      await writeRecord(this.dataDir, rec);
      this.log?.info({ jail: name, diskBytes: bytes }, `jail ${name}: disk limit now ${formatSize(bytes)}`);
      return this.view(rec);
    });
  }

  /** config.json and the jail's /etc files, from the host's /etc as it is now (masks included). */
  private async writeJailBundle(spec: JailRecord['spec'], ip: string, hostEtc?: Awaited<ReturnType<typeof readHostEtc>>): Promise<void> {
    const e = await this.env();
    // no resolv.conf on the host: the jail gets one without nameservers, as the host has
    const resolver = resolverFromResolvConf(await readFile('/etc/resolv.conf', 'utf8').catch(() => ''));
    await writeBundle(bundleDirOf(this.dataDir, spec.name), { spec, host: e.host, ip, resolver, ...(hostEtc ? { hostEtc } : {}) });
  }

  /** Starts the jail's process and records it (caller holds the lock). */
  async doStart(rec: JailRecord, restarts = 0, opts: { fresh?: boolean } = {}): Promise<JailRecord> {
    return (await this.startRecorded(rec, restarts, opts)).rec;
  }

  /** doStart, also giving the init PID runc just reported (so the view needs no `runc state`). */
  private async startRecorded(rec: JailRecord, restarts = 0, opts: { fresh?: boolean } = {}): Promise<{ rec: JailRecord; pid: number }> {
    // a restart sees the host's OS as it is now: new masks, new passwd entries, a new resolv.conf
    if (!opts.fresh) await this.writeJailBundle(rec.spec, rec.ip);
    const pid = await startJail(await this.lifecycleDeps(), rec, opts);
    Object.assign(rec, { desired: 'running', state: 'running', startedAt: new Date().toISOString(), diedAt: null, restarts });
    await timed(this.o.onStep, 'record (running)', () => writeRecord(this.dataDir, rec));
    return { rec, pid };
  }

  start(name: string): Promise<JailView> {
    return this.locked(checkName('jail', name), async () => {
      const { rec, pid } = await this.startRecorded(await getRecord(this.dataDir, name));
      return this.view(rec, { status: 'running', pid });
    });
  }

  stop(name: string, opts: { timeoutSeconds?: number } = {}): Promise<JailView> {
    return this.locked(checkName('jail', name), async () => {
      const rec = await getRecord(this.dataDir, name);
      rec.desired = 'stopped';
      await writeRecord(this.dataDir, rec); // first, so the supervisor does not restart it
      await stopJail(await this.lifecycleDeps(), rec, opts.timeoutSeconds);
      Object.assign(rec, { state: 'stopped', lastExitReason: 'stopped' });
      await writeRecord(this.dataDir, rec);
      return this.view(rec);
    });
  }

  async restart(name: string): Promise<JailView> {
    await this.stop(name);
    return this.start(name);
  }

  remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    return this.locked('*', () => this.locked(checkName('jail', name), async () => {
      const e = await this.env();
      const rec = await getRecord(this.dataDir, name);
      const st = await this.runc.state(name);
      if (st?.status === 'running' && !opts.force) throw new UserError(`jail ${name} is running`, `stop it first (cellblock jail stop ${name}) or pass --force`);
      rec.desired = 'stopped';
      await writeRecord(this.dataDir, rec);
      await stopJail(await this.lifecycleDeps(), rec, 5);
      await e.driver.destroyDataset(rec.dataset);
      await e.leases.release(name);
      await rm(jailDir(this.dataDir, name), { recursive: true, force: true });
      await removeCgroupParents(e.config.instance).catch((err: unknown) => this.warn(err, 'removing the cgroup parents failed; the next remove tries again'));
      this.log?.info({ jail: name }, `removed jail ${name}`);
    }));
  }

  jailState(name: string): Promise<RuncState | undefined> {
    return this.liveness.state(name);
  }

  async list(): Promise<JailView[]> {
    return Promise.all((await listRecords(this.dataDir)).map(async (r) => ({ ...(await this.view(r)), disk: await this.diskOf(r) })));
  }

  private async diskOf(rec: JailRecord): Promise<JailDisk> {
    return diskOf((await this.env()).driver, rec, (err) => this.warn(err, `disk use of jail ${rec.name} unknown`, { jail: rec.name }));
  }

  /** `known`: the state runc just reported (a start), instead of asking again. */
  async view(rec: JailRecord, known?: Pick<RuncState, 'status' | 'pid'>): Promise<JailView> {
    const st = known ?? await this.liveness.state(rec.name).catch((err: unknown) => { this.warn(err, `reading runc's state of jail ${rec.name} failed; shown as not running`, { jail: rec.name }); return undefined; });
    const running = st?.status === 'running';
    return {
      name: rec.name,
      image: formatImageRef(rec.spec.image),
      ip: rec.ip,
      state: running ? 'running' : rec.state === 'running' ? 'stopped' : rec.state,
      pid: running ? st!.pid : null,
      restart: rec.spec.restart,
      restarts: rec.restarts,
      lastExitCode: rec.lastExitCode,
      lastExitReason: rec.lastExitReason,
      command: rec.spec.command,
      createdAt: rec.createdAt,
      startedAt: rec.startedAt,
    };
  }

  async inspect(name: string): Promise<JailInspect> {
    const rec = await getRecord(this.dataDir, checkName('jail', name));
    const e = await this.env();
    const v = await this.view(rec);
    const names = jailNames(rec.spec.instance, name);
    const u = v.state === 'running' ? await cgroupUsage(names.cgroupsPath) : { memoryBytes: null, oomKills: null, cpuSeconds: null, pids: null };
    const disk = await e.driver.usage(rec.dataset).catch((err: unknown) => { this.warn(err, `disk usage of jail ${name} unknown`, { jail: name }); return undefined; });
    return {
      ...v,
      disk: await this.diskOf(rec),
      spec: { memoryBytes: rec.spec.memoryBytes ?? null, cpus: rec.spec.cpus ?? null, pids: rec.spec.pids, diskBytes: rec.spec.diskBytes ?? null, env: rec.spec.env, user: rec.spec.user, rw: rec.spec.rw },
      usage: {
        memory: { limitBytes: rec.spec.memoryBytes ?? null, usageBytes: u.memoryBytes, oomKills: u.oomKills },
        cpu: { cpus: rec.spec.cpus ?? null, usageSeconds: u.cpuSeconds },
        pids: { limit: rec.spec.pids, current: u.pids },
        diskExclusiveBytes: disk?.exclusive ?? null,
      },
      paths: { bundle: bundleDirOf(this.dataDir, name), writable: rec.spec.writablePath, log: layoutOf(this.dataDir, name).log, netns: names.netnsPath },
      hostInterface: names.vethHost,
    };
  }

  async exec(name: string, req: ExecRequest): Promise<ExecOutput> {
    const rec = await getRecord(this.dataDir, checkName('jail', name));
    if ((await this.liveness.state(name))?.status !== 'running') throw new UserError(`jail ${name} is not running`, `start it first: cellblock jail start ${name}`);
    const user = req.user !== undefined ? parseUser(req.user, parseAccounts(await readAccountFiles())) : rec.spec.user;
    const env = Object.entries({ ...rec.spec.env, ...parseEnv(req.env ?? []) }).map(([k, v]) => `${k}=${v}`);
    if (!Array.isArray(req.command) || req.command.length === 0) throw new UserError('exec: no command given', 'put the command after --, e.g. cellblock jail exec web -- ls /app');
    try {
      const r = await this.runc.execIn(name, req.command, { user: `${user.uid}:${user.gid}`, env, timeoutMs: (req.timeoutSeconds ?? 60) * 1000, okCodes: ANY_CODE });
      return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      if (err instanceof ExecError && err.kind === 'timeout') throw new UserError(`exec in jail ${name} timed out`, 'give it more time with --timeout');
      throw err;
    }
  }

  async logs(name: string, req: LogsRequest): Promise<Readable> {
    await getRecord(this.dataDir, checkName('jail', name));
    return logStream(layoutOf(this.dataDir, name).log, req);
  }

  /** Logs a failure this manager works around, when it has a logger. */
  private warn(err: unknown, msg: string, extra: Record<string, unknown> = {}): void {
    if (this.log) logWarn(this.log, err, msg, extra);
  }

  /** Every jail's record, for the supervisor. */
  records(): Promise<JailRecord[]> {
    return listRecords(this.dataDir);
  }
}

