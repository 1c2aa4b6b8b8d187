/**
 * keepalived on this host, for the floating address (lb.vip): the agent's supervision of it.
 *
 * - `follow(store, self)` watches `lb` and `hostinfo/` and makes keepalived match them: the
 *   configuration (keepalived-config.ts) is written under DATA_DIR/lb/, checked with
 *   `keepalived -t` first (a bad one is logged and the running one kept), then keepalived is
 *   started, or reloaded (SIGHUP) when the text changed, or stopped when no lb.vip is set.
 * - keepalived runs detached with its own pid files: it outlives an agent restart (the VIP
 *   does not move because the agent restarts) and is adopted by the next agent (its pid file,
 *   checked against its command line). Every second: started again if it died, and whether
 *   this host holds the VIP (`ip addr` of the interface): `vipHeld()`.
 * - every 250 ms the track file gets trackValue(haproxyRunning, leaseHeld), written only when
 *   it changes (keepalived reads it on inotify): 1 puts the VRRP instance in FAULT, which
 *   gives the VIP up.
 * - `host stop`, `host reset` and `lab down` end it like every process naming the data dir
 *   (lab/host-procs.ts: its command line names DATA_DIR/lb/keepalived.conf).
 */
import { openSync, closeSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { K } from '../cluster/keys.js';
import type { HostInfo } from '../cluster/model.js';
import type { Store, StoreWatch } from '../cluster/store.js';
import { ANY_CODE, spawnDetached, type Exec } from '../sys/exec.js';
import { UserError } from '../sys/errors.js';
import { logged, logWarn } from '../sys/log.js';
import { addressesIn, ipAddrShowArgv } from './host-network.js';
import { keepalivedArgv, keepalivedConfig, keepalivedPaths, keepalivedTestArgv, trackValue, vipSettings, type KeepalivedPaths, type VipSelf, type VipSettings } from './keepalived-config.js';
import type { LbRecord } from './model.js';
import { pidFromFile, signalAll, stopPid } from '../sys/proc.js';

export interface KeepalivedDeps {
  dataDir: string;
  exec: Exec;
  log: Logger;
  /** True while this host's HAProxy runs (the HAProxy reconciler's answer). */
  haproxyRunning: () => boolean;
  /** True while the agent surely holds its cluster lease (Membership.lease). */
  leaseHeld: () => boolean;
  /** Starts keepalived detached; its PID (default: sys/exec spawnDetached). */
  spawn?: (argv: readonly string[], opts: { stdout: number; stderr: number }) => number;
  trackMs?: number;
  checkMs?: number;
}


/** The PID of dataDir's keepalived (its pid file, checked against its command line), or undefined. */
export async function keepalivedPid(dataDir: string): Promise<number | undefined> {
  const p = keepalivedPaths(dataDir);
  return pidFromFile(p.pid, (argv) => argv.includes(p.config));
}

/**
 * Stops dataDir's keepalived (SIGTERM: it sends priority 0, so a peer takes the VIP at once;
 * SIGKILL after graceMs); its PID, or undefined when none ran. For the agent (no lb.vip any
 * more), `cluster leave --force` and host teardown.
 */
export async function stopKeepalived(dataDir: string, graceMs = 5000): Promise<number | undefined> {
  const pid = await keepalivedPid(dataDir);
  if (pid === undefined) return undefined;
  await stopPid(pid, [['SIGTERM', graceMs], ['SIGKILL', 0]]);
  return pid;
}

export class Keepalived {
  readonly paths: KeepalivedPaths;
  private settings: VipSettings | undefined;
  private why = '';
  private held = false;
  private track: 0 | 1 | undefined;
  private queue: Promise<void> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];
  private watches: StoreWatch[] = [];
  private stopped = false;
  private tracking: Promise<void> | undefined;

  constructor(private readonly d: KeepalivedDeps) {
    this.paths = keepalivedPaths(d.dataDir);
  }

  /** True when this host holds the VIP (checked every second). */
  vipHeld(): boolean {
    return this.held;
  }

  /** The settings in force; undefined when this host runs no keepalived. */
  current(): VipSettings | undefined {
    return this.settings;
  }

  /** Watches `lb` and `hostinfo/` and keeps keepalived matching them; starts the timers. */
  async follow(store: Store, self: VipSelf): Promise<void> {
    const sync = () => this.enqueue(async () => {
      const [lb, hosts] = await Promise.all([store.getJson<LbRecord>(K.lb), store.listJson<HostInfo>(K.hostsInfo)]);
      const r = vipSettings(lb, self, hosts.map((h) => ({ name: h.value.name, address: h.value.address })), this.paths.trackFile);
      await this.apply('settings' in r ? r.settings : undefined, 'none' in r ? r.none : '');
    }, 'following lb.vip failed; the next change of lb or hostinfo/, or the 10 s resync, retries');
    this.watches.push(await store.watchKey(K.lb, () => void sync()));
    this.watches.push(await store.watchPrefix(K.hostsInfo, () => void sync()));
    this.start(sync);
    await sync();
  }

  /** The timers: the track file every 250 ms, keepalived and the VIP every second. */
  start(resync: () => Promise<void> = async () => {}): void {
    this.timers.push(setInterval(() => { this.tracking ??= this.writeTrack().finally(() => { this.tracking = undefined; }); }, this.d.trackMs ?? 250));
    this.timers.push(setInterval(() => void this.enqueue(() => this.check(), 'checking keepalived failed; retrying in 1 s').then(() => undefined), this.d.checkMs ?? 1000));
    let n = 0;
    // a missed watch event (etcd restarting) is repaired within 10 s
    this.timers.push(setInterval(() => { if (++n % 10 === 0) void resync(); }, this.d.checkMs ?? 1000));
    for (const t of this.timers) t.unref();
  }

  /** Stops watching and the timers; keepalived keeps running (the next agent adopts it). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await Promise.all(this.watches.map((w) => w.cancel().catch(logged(this.d.log, 'cancelling a watch failed; it ends with the etcd client'))));
    this.watches = [];
    await this.tracking;
    await this.queue;
  }

  private enqueue(fn: () => Promise<void>, failure: string): Promise<void> {
    const next = this.queue.then(() => (this.stopped ? undefined : fn())).catch(logged(this.d.log, failure));
    this.queue = next;
    return next;
  }

  /** Makes keepalived match s (undefined: none); `why` says why there is none. */
  async apply(s: VipSettings | undefined, why = ''): Promise<void> {
    if (!s) {
      if (this.settings || why !== this.why) this.d.log.info({ reason: why }, `no keepalived on this host: ${why}`);
      this.settings = undefined;
      this.why = why;
      this.held = false;
      await this.end();
      return;
    }
    await mkdir(this.paths.dir, { recursive: true, mode: 0o700 });
    await this.writeTrack();
    const text = keepalivedConfig(s);
    const old = await readFile(this.paths.config, 'utf8').catch(() => undefined); // none yet
    const pid = await this.pid();
    if (text !== old) {
      const tmp = `${this.paths.config}.new`;
      await writeFile(tmp, text, { mode: 0o600 });
      const t = await this.d.exec(keepalivedTestArgv(tmp), { okCodes: ANY_CODE });
      if (t.code !== 0) {
        throw new UserError(`keepalived refused the configuration made for lb.vip ${s.vip} (keepalived -t exit ${t.code}): ${t.stderr.trim() || t.stdout.trim()}`, `this is a bug of cellblock; the running keepalived keeps its configuration (${tmp} shows the refused one)`);
      }
      await rename(tmp, this.paths.config);
    }
    const first = this.settings === undefined;
    this.settings = s;
    this.why = '';
    if (pid === undefined) {
      const started = this.spawn();
      this.startedAt = Date.now();
      this.d.log.info({ pid: started, vip: s.vip, interface: s.interface, peers: s.hosts.length - 1 }, `started keepalived for VIP ${s.vip} on ${s.interface}`);
    } else if (text !== old) {
      signalAll([pid], 'SIGHUP'); // gone meanwhile: the 1 s check starts it again with this configuration
      this.d.log.info({ pid, vip: s.vip, peers: s.hosts.length - 1 }, `reloaded keepalived (its configuration changed: VIP ${s.vip}, ${s.hosts.length} hosts)`);
    } else if (first) {
      this.d.log.info({ pid, vip: s.vip }, 'adopted the running keepalived');
    }
  }

  /** The PID of this data dir's keepalived (its pid file, checked against its command line). */
  pid(): Promise<number | undefined> {
    return keepalivedPid(this.d.dataDir);
  }

  private spawn(): number {
    const fd = openSync(this.paths.log, 'a');
    try {
      return (this.d.spawn ?? spawnDetached)(keepalivedArgv(this.paths), { stdout: fd, stderr: fd });
    } finally {
      closeSync(fd);
    }
  }

  /** keepalived again if it died; whether this host holds the VIP. */
  private async check(): Promise<void> {
    const s = this.settings;
    if (!s) { this.held = false; return; }
    if ((await this.pid()) === undefined) {
      // the pid file appears a moment after the start: a fresh start is given 2 s
      const fresh = Date.now() - this.startedAt < 2000;
      if (!fresh) {
        this.d.log.warn({ vip: s.vip }, 'keepalived is not running; starting it again');
        this.spawn();
        this.startedAt = Date.now();
      }
    }
    const r = await this.d.exec(ipAddrShowArgv(s.interface), { okCodes: [0, 1] });
    const held = r.code === 0 && addressesIn(r.stdout).includes(s.vip);
    if (held !== this.held) this.d.log.info({ vip: s.vip }, held ? `this host now holds the VIP ${s.vip}` : `this host no longer holds the VIP ${s.vip}`);
    this.held = held;
  }

  private startedAt = 0;

  /**
   * Writes the track file now, after the writes queued before it: HAProxy just stopped or
   * started, and keepalived should act at once rather than at the next tick (a HAProxy
   * restarted within one tick would otherwise go unseen and the VIP stay on a host that was
   * without HAProxy for a moment).
   */
  trackNow(): void {
    if (this.stopped) return;
    const now = { haproxy: this.d.haproxyRunning(), lease: this.d.leaseHeld() }; // as it is now, not when the write runs
    const run: Promise<void> = (this.tracking ?? Promise.resolve()).then(() => this.writeTrack(now)).finally(() => {
      if (this.tracking === run) this.tracking = undefined;
    });
    this.tracking = run;
  }

  /** Writes the track file when its value changes (tmp + rename: keepalived never reads half a file). */
  private async writeTrack(sample?: { haproxy: boolean; lease: boolean }): Promise<void> {
    const lease = sample?.lease ?? this.d.leaseHeld();
    const haproxy = sample?.haproxy ?? this.d.haproxyRunning();
    const v = trackValue({ haproxyRunning: haproxy, leaseHeld: lease });
    if (v === this.track) return;
    try {
      await mkdir(this.paths.dir, { recursive: true, mode: 0o700 });
      const tmp = `${this.paths.trackFile}.tmp`;
      await writeFile(tmp, `${v}\n`);
      await rename(tmp, this.paths.trackFile);
      if (this.track !== undefined || v !== 0) {
        this.d.log.info({ value: v, haproxy, lease }, v === 0 ? 'this host may hold the VIP again (HAProxy runs, lease held)' : `this host gives the VIP up: ${!lease ? 'no cluster lease' : 'HAProxy is not running'}`);
      }
      this.track = v;
    } catch (err) {
      logWarn(this.d.log, err, 'writing the keepalived track file failed; retrying in 250 ms');
    }
  }

  /** Stops keepalived (SIGTERM: it gives the VIP up; SIGKILL after 5 s) and removes its configuration. */
  private async end(): Promise<void> {
    const pid = await stopKeepalived(this.d.dataDir);
    if (pid !== undefined) this.d.log.info({ pid }, 'stopped keepalived');
    await rm(this.paths.config, { force: true });
  }
}
