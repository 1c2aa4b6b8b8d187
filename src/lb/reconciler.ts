/**
 * The per-host LB reconciler: keeps this host's HAProxy equal to the desired LB of the cluster
 * state (desired.ts), and publishes what HAProxy has in rotation under lbstate/<host>.
 *
 * - Passes follow services/, placements/, observed/, lb and certs/ through watches (a burst of
 *   events makes one pass, 25 ms debounce); a 5 s timer is the backstop (and restarts an
 *   HAProxy that died).
 * - A pass: desired LB; none published: HAProxy stopped. Otherwise certificates written; HAProxy
 *   started (or adopted: a running one is kept, with the shape it was started with); reloaded
 *   only when the shape (frontends, backends' settings, certificates) changed; then the
 *   runtime-API commands of plan.ts for the servers.
 * - A poll of `show stat` every 500 ms: lbstate/<host> is written (on the host's lease) when the
 *   rotation changes, its figures at most every FIGURES_MS; a server waiting at the gate (its
 *   check passed) triggers a pass.
 *
 * `haproxyRunning()` and `onRunning(cb)` tell whether HAProxy runs here (keepalived's track
 * file needs it).
 */
import type { Logger } from 'pino';
import { K } from '../cluster/keys.js';
import type { HostLease } from '../cluster/lease.js';
import type { HostPlacements, ObservedReplica, ServiceRecord } from '../cluster/model.js';
import type { Store, StoreWatch } from '../cluster/store.js';
import type { Exec } from '../sys/exec.js';
import { readFile, writeFile } from 'node:fs/promises';
import { errorFields, logged, logWarn } from '../sys/log.js';
import { desiredLb, hasPublished, shapeOf, type DesiredLb } from './desired.js';
import { api, parseShowStat, run, send, serverRows, serverState, type StatRow } from './haproxy-api.js';
import { buildConfig, lbPaths, type LbPaths } from './haproxy-config.js';
import { HaproxyProcess } from './haproxy-process.js';
import type { CertRecord, LbBackendState, LbHostState, LbRecord } from './model.js';
import { enabledServers, planLb } from './plan.js';
import { SerialPass } from '../sys/serial.js';

export interface LbReconcilerOptions {
  store: Store;
  host: string;
  dataDir: string;
  exec: Exec;
  log: Logger;
  /** Backstop pass interval (default 5 s). */
  intervalMs?: number;
  /** `show stat` poll interval (default 500 ms). */
  pollMs?: number;
  process?: HaproxyProcess;
  /** Whether this host holds the floating address (keepalived's vipHeld), for lbstate; default false. */
  vipHeld?: () => boolean;
}

export const LB_BACKSTOP_MS = 5_000;
export const LB_POLL_MS = 500;
/** Figures (requests, errors, sessions) are written at most this often when the rotation is unchanged. */
export const FIGURES_MS = 3_000;
const DEBOUNCE_MS = 25;

export class LbReconciler {
  private readonly paths: LbPaths;
  private readonly proc: HaproxyProcess;
  private stopped = false;
  private watches: StoreWatch[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private readonly passes = new SerialPass(() => this.pass(), (err) => logWarn(this.o.log, err, 'LB pass failed; the next change or the backstop pass retries'), () => this.stopped);
  private lease: HostLease | undefined;
  private desired: DesiredLb | undefined;
  /** The shape the running HAProxy has (undefined: unknown, i.e. reload to be sure). */
  private shape: string | undefined;
  private state: { haproxy: LbHostState['haproxy']; message: string | null } = { haproxy: 'stopped', message: 'not started yet' };
  private isRunning = false;
  private readonly listeners: ((running: boolean) => void)[] = [];
  private said = '';
  private written: { rotation: string; figures: string; at: number } | undefined;
  private wasRunning = false;
  /** The last failure logged per action (a command failing on every poll is logged once per FIGURES_MS * 10). */
  private failures = new Map<string, { text: string; at: number }>();

  constructor(private readonly o: LbReconcilerOptions) {
    this.paths = lbPaths(o.dataDir);
    this.proc = o.process ?? new HaproxyProcess({ paths: this.paths, exec: o.exec });
  }

  haproxyRunning(): boolean {
    return this.isRunning;
  }

  /** Called with true/false whenever HAProxy starts or stops running here. */
  onRunning(cb: (running: boolean) => void): void {
    this.listeners.push(cb);
  }

  private setRunning(v: boolean): void {
    if (v === this.isRunning) return;
    this.isRunning = v;
    for (const cb of this.listeners) cb(v);
  }

  async start(): Promise<void> {
    const kick = () => this.kickSoon();
    for (const prefix of [K.services, K.placements, K.observedAll, K.certs]) this.watches.push(await this.o.store.watchPrefix(prefix, kick));
    this.watches.push(await this.o.store.watchKey(K.lb, kick));
    if (await this.proc.running()) {
      this.shape = await readFile(this.paths.shape, 'utf8').catch(() => undefined); // unknown: the first pass reloads
      this.wasRunning = true;
      this.setRunning(true);
      this.o.log.info({ pid: await this.proc.pid() }, 'adopted the running HAProxy');
    }
    const tick = () => {
      if (this.stopped) return;
      this.kick();
      this.timer = setTimeout(tick, this.o.intervalMs ?? LB_BACKSTOP_MS);
      this.timer.unref();
    };
    tick();
    this.pollTimer = setInterval(() => { this.polling ??= this.poll().finally(() => { this.polling = undefined; }); }, this.o.pollMs ?? LB_POLL_MS);
    this.pollTimer.unref();
  }

  /** lbstate/<host> goes on this lease from now on (written again). */
  useLease(lease: HostLease): void {
    this.lease = lease;
    this.written = undefined;
    this.kick();
  }

  private kickSoon(): void {
    if (this.stopped || this.debounce) return;
    this.debounce = setTimeout(() => { this.debounce = undefined; this.kick(); }, DEBOUNCE_MS);
  }

  kick(): void {
    this.passes.kick();
  }

  private async readDesired(): Promise<DesiredLb> {
    const s = this.o.store;
    const [services, placements, observed, lb, certs] = await Promise.all([
      s.listJson<ServiceRecord>(K.services), s.mapJson<HostPlacements>(K.placements), s.listJson<ObservedReplica>(K.observedAll),
      s.getJson<LbRecord>(K.lb), s.listJson<CertRecord>(K.certs),
    ]);
    return desiredLb({
      lb, services: services.map((e) => e.value), placements, observed: observed.map((e) => e.value),
      certs: new Map(certs.map((e) => [e.key.slice(K.certs.length), e.value])), certDir: this.paths.certs,
    });
  }

  private async pass(): Promise<void> {
    const d = await this.readDesired();
    this.desired = d;
    if (!hasPublished(d)) {
      if ((await this.proc.pid()) !== undefined) {
        this.o.log.info('no service is published any more: stopping HAProxy');
        await this.proc.stop();
      }
      this.shape = undefined;
      this.wasRunning = false;
      this.setRunning(false);
      this.state = { haproxy: 'stopped', message: 'no service is published' };
      await this.publish([]);
      return;
    }
    const shape = shapeOf(d);
    try {
      await this.proc.writeCerts(d.certs);
      const pid = await this.proc.pid();
      if (pid !== undefined && !(await this.proc.answers())) {
        // a live master whose admin socket does not answer (yet): starting a second one would fail to bind
        throw new Error(`HAProxy (pid ${pid}) does not answer on ${this.paths.admin}`);
      }
      if (pid === undefined) {
        if (this.wasRunning) this.o.log.warn({ log: await this.logTail() }, 'HAProxy is not running any more (its log\'s last lines attached); starting it again');
        this.setRunning(false);
        await this.proc.start(buildConfig(d, this.paths));
        this.o.log.info({ pid: await this.proc.pid(), backends: d.backends.map((b) => b.backend) }, 'started HAProxy');
        await this.saveShape(shape);
      } else if (shape !== this.shape) {
        const rows = serverRows(parseShowStat(await send(this.paths.admin, api.showStat().text)));
        await this.proc.reload(buildConfig(d, this.paths, { enabled: enabledServers(rows) }));
        this.o.log.info({ backends: d.backends.map((b) => b.backend) }, 'reloaded HAProxy (frontends, backends or certificates changed)');
        await this.saveShape(shape);
      }
      this.wasRunning = true;
      this.setRunning(true);
      this.state = { haproxy: 'running', message: null };
    } catch (err) {
      const running = await this.proc.running();
      this.setRunning(running);
      this.state = { haproxy: running ? 'running' : 'failed', message: errorFields(err).stderr || (err as Error).message };
      logWarn(this.o.log, err, running ? 'HAProxy keeps its old configuration: the new one failed; the next change or the backstop pass retries' : 'starting HAProxy failed; the next change or the backstop pass retries');
      if (!running) { await this.publish([]); return; }
    }
    await this.apply(d);
  }

  private async saveShape(shape: string): Promise<void> {
    this.shape = shape;
    await writeFile(this.paths.shape, shape, { mode: 0o600 });
  }

  private async logTail(): Promise<string> {
    return (await readFile(this.paths.log, 'utf8').catch(() => '')).split('\n').slice(-6).join('\n'); // no log: nothing to attach
  }

  /** The runtime-API commands of the plan, in order; a failed one is logged and retried by a later pass. */
  private async apply(d: DesiredLb): Promise<void> {
    const rows = parseShowStat(await send(this.paths.admin, api.showStat().text));
    const plan = planLb(d, serverRows(rows), new Set(rows.filter((r) => r.type === 1).map((r) => r.proxy)));
    if (plan.actions.length > 0 && plan.sentence !== this.said) this.o.log.info({ decision: plan.sentence }, 'lb');
    this.said = plan.actions.length > 0 ? plan.sentence : '';
    for (const a of plan.actions) {
      const key = `${a.kind} ${a.backend}/${a.server}`;
      try {
        for (const c of a.commands) await run(this.paths.admin, c);
        this.failures.delete(key);
      } catch (err) {
        const text = (err as Error).message;
        const last = this.failures.get(key);
        if (last?.text === text && Date.now() - last.at < FIGURES_MS * 10) continue; // logged already; the next pass retries
        this.failures.set(key, { text, at: Date.now() });
        logWarn(this.o.log, err, 'an HAProxy runtime command failed; the next pass retries', { action: a.kind, backend: a.backend, server: a.server });
      }
    }
    if (plan.actions.length > 0) await this.publish(parseShowStat(await send(this.paths.admin, api.showStat().text)));
  }

  private async poll(): Promise<void> {
    if (this.stopped || !this.isRunning) return;
    let rows: StatRow[];
    try {
      rows = parseShowStat(await send(this.paths.admin, api.showStat().text, 1000));
    } catch {
      this.kick(); // not answering: the pass finds out why and starts it again
      return;
    }
    await this.publish(rows).catch(logged(this.o.log, 'writing lbstate failed; the next poll writes it'));
    const d = this.desired;
    if (d && !this.passes.busy && planLb(d, serverRows(rows), new Set(rows.filter((r) => r.type === 1).map((r) => r.proxy))).actions.length > 0) this.kick();
  }

  /** The host state of rows (pure but for the clock). */
  private hostState(rows: readonly StatRow[]): LbHostState {
    const names = new Map((this.desired?.backends ?? []).map((b) => [b.backend, b]));
    const backends: LbBackendState[] = [...names.values()].map((b) => ({
      stack: b.stack, service: b.service, backend: b.backend,
      servers: serverRows(rows).filter((r) => r.proxy === b.backend).map(serverState),
    }));
    return { host: this.o.host, haproxy: this.state.haproxy, message: this.state.message, backends, vipHeld: this.o.vipHeld?.() ?? false, at: new Date().toISOString() };
  }

  /** Writes lbstate/<host> when its rotation changed, or its figures after FIGURES_MS. */
  private async publish(rows: readonly StatRow[]): Promise<void> {
    const lease = this.lease;
    if (!lease?.alive) return;
    const st = this.hostState(rows);
    const rotation = JSON.stringify([st.haproxy, st.message, st.vipHeld, st.backends.map((b) => [b.backend, b.servers.map((s) => [s.jail, s.addr, s.status, s.inRotation])])]);
    const figures = JSON.stringify(st.backends.map((b) => b.servers.map((s) => [s.sessions, s.requests, s.errors])));
    const w = this.written;
    const now = Date.now();
    if (w && w.rotation === rotation && (w.figures === figures || now - w.at < FIGURES_MS)) return;
    this.written = { rotation, figures, at: now };
    await this.o.store.putJson(K.lbState(this.o.host), st, lease.id).catch((err: unknown) => {
      this.written = undefined; // written again by the next poll
      throw err;
    });
  }

  /** Stops the loop and the poll; HAProxy keeps running (the data path outlives the agent). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of [this.timer, this.debounce]) if (t) clearTimeout(t);
    if (this.pollTimer) clearInterval(this.pollTimer);
    await Promise.all(this.watches.map((w) => w.cancel().catch(() => undefined))); // a broken watch stream is gone already
    await this.passes.idle();
    await this.polling;
  }

  /** Stops HAProxy here (the host leaves the cluster or is reset). */
  async stopHaproxy(): Promise<void> {
    await this.proc.stop();
    this.setRunning(false);
  }
}
