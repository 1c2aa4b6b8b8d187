/**
 * The supervisor loop: every pass re-reads each jail's record and runc's state, decides with
 * the pure decideRestart(), logs one sentence when something changes, and acts. Restarts run
 * under the jail's lock; a pass never waits for another.
 */
import type { Logger } from 'pino';
import { logError, logWarn } from '../sys/log.js';
import { decideRestart, failed } from './restart.js';
import { lastExit } from './lifecycle.js';
import { writeRecord, readRecord, type JailRecord } from './record.js';
import type { RuncState } from './runc.js';

/** What the supervisor needs of the jail manager (narrow, so supervisor.ts does not import manager.ts). */
export interface SupervisedJails {
  readonly dataDir: string;
  /** Every jail's record. */
  records(): Promise<JailRecord[]>;
  /** Runs fn with the jail's lock held. */
  locked<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** runc's state of the jail (cached while its init process surely runs: liveness.ts). */
  jailState(name: string): Promise<RuncState | undefined>;
  /** Starts the jail's process and records it (the caller holds the lock). */
  doStart(rec: JailRecord, restarts: number): Promise<JailRecord>;
}

export class Supervisor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private lastReason = new Map<string, string>();

  constructor(private readonly m: SupervisedJails, private readonly log: Logger | undefined, private readonly intervalMs: number) {}

  run(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.pass().catch((e: unknown) => { if (this.log) logError(this.log, e, 'supervisor pass failed; the next pass retries'); });
      void this.running.finally(() => { if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs); });
    };
    this.timer = setTimeout(tick, this.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over every jail. */
  async pass(): Promise<void> {
    for (const rec of await this.m.records()) {
      if (rec.desired !== 'running') continue;
      await this.m.locked(rec.name, async () => {
        const cur = await readRecord(this.m.dataDir, rec.name);
        if (!cur || cur.desired !== 'running') return;
        const st = await this.m.jailState(cur.name);
        const running = st?.status === 'running';
        const now = Date.now();
        if (!running && cur.diedAt === null) {
          const ex = await lastExit(this.m.dataDir, cur.name);
          cur.diedAt = new Date(now).toISOString();
          cur.lastExitCode = ex.exitCode;
          cur.lastExitReason = ex.oomKilled ? 'oom-killed' : 'exited';
          cur.state = 'restarting';
          await writeRecord(this.m.dataDir, cur);
        }
        const d = decideRestart({
          policy: cur.spec.restart,
          wantRunning: true,
          running,
          exitCode: cur.lastExitCode,
          oomKilled: cur.lastExitReason === 'oom-killed',
          restarts: cur.restarts,
          startedAtMs: cur.startedAt ? Date.parse(cur.startedAt) : null,
          diedAtMs: cur.diedAt ? Date.parse(cur.diedAt) : null,
          nowMs: now,
        });
        if (running) {
          if (this.lastReason.get(cur.name) !== 'running') this.log?.info({ jail: cur.name, pid: st!.pid }, `jail ${cur.name}: running (pid ${st!.pid})`);
          this.lastReason.set(cur.name, 'running');
          return;
        }
        if (d.action !== 'wait' || !this.lastReason.get(cur.name)?.startsWith('wait')) this.log?.info({ jail: cur.name, decision: d.action }, `jail ${cur.name}: ${d.reason}`);
        this.lastReason.set(cur.name, d.action);
        if (d.action === 'record-exit') {
          cur.state = failed(cur.lastExitCode, cur.lastExitReason === 'oom-killed') ? 'failed' : 'stopped';
          cur.desired = 'stopped';
          await writeRecord(this.m.dataDir, cur);
        } else if (d.action === 'restart') {
          try {
            await this.m.doStart(cur, d.restarts);
          } catch (e) {
            if (this.log) logWarn(this.log, e, `jail ${cur.name}: restart failed; the next pass tries again`, { jail: cur.name });
            cur.restarts = d.restarts;
            cur.diedAt = new Date().toISOString();
            await writeRecord(this.m.dataDir, cur);
          }
        }
      });
    }
  }
}
