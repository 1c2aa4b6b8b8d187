/**
 * Jail benchmarks (issue "jails on one host"):
 *  1. create+start until the jail's process runs, p50/p95 over N jails, through the jail
 *     manager (dataset, lease, bundle, network, conmon, runc create+start) against the same
 *     jail made by hand: bundles written beforehand with the same builder (untimed), then
 *     timed: the `ip` wiring (netns, veth, address, route) and `runc run -d`. Goal (issue 12): p50 <= 1.3x raw, and under 100 ms.
 *     Prints the p50 of each step of cellblock's create+start (JailManager's onStep hook).
 *     The same with the pool's quota groups off (no disk limit), in the same run, to show what quotas cost.
 *  2. density: M idle jails each answering HTTP on its own IP, each with a 16M disk limit
 *     (quota groups on); memory and pool bytes per jail (goal: under 1 MB of pool per jail),
 *     time to start and to remove them all.
 * Root only. Everything is made under a temporary data dir and removed at the end.
 */
import { open, readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { exec } from '../src/sys/exec.js';
import { buildImage } from '../src/storage/images/build.js';
import type { StorageDriver } from '../src/storage/driver.js';
import { MB, withPools } from './lib.js';
import { JailManager } from '../src/jail/manager.js';
import { writeBundle } from '../src/jail/bundle.js';
import { parseJailSpec } from '../src/jail/model.js';
import { jailNames } from '../src/jail/naming.js';
import { jailNetworkPlan } from '../src/jail/net.js';
import { probeHost } from '../src/jail/host.js';
import { runcRun, runcDelete } from '../src/jail/runc.js';
import { cgroupUsage } from '../src/jail/usage.js';
import { removeCgroupParents } from '../src/jail/cgroups.js';
import { imageSnapshot } from '../src/storage/images/store.js';
import { formatSize } from '../src/sys/size.js';

const EXAMPLES = new URL('../../examples/site', import.meta.url).pathname;
const SERVE = ['/usr/bin/python3', '-m', 'http.server', '8080', '--directory', '/app'];
const IDLE = ['/usr/bin/sleep', 'infinity'];

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function rssKb(pid: number): Promise<number> {
  const t = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(t)?.[1] ?? 0);
}

export interface JailBenchOptions { startN: number; densityN: number; json: boolean }

export function benchJails(o: JailBenchOptions): Promise<Record<string, unknown>> {
  return withPools('jails', async (pools) => {
    const { ctx, driver } = await pools.pool('host', 4096 * MB);
    await buildImage({ exec, dataDir: ctx.dataDir, driver, ref: { name: 'site', tag: 'v1' }, dir: EXAMPLES, from: null });
    return runJailBench(o, ctx.dataDir, driver);
  });
}

async function runJailBench(o: JailBenchOptions, dataDir: string, driver: StorageDriver): Promise<Record<string, unknown>> {
  const subnet = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}.0/24`;
  // per-step times of the jail being made now (steps that run twice in one create add up)
  let steps: Map<string, number> | undefined;
  const onStep = (step: string, ms: number): void => { if (steps) steps.set(step, (steps.get(step) ?? 0) + ms); };
  const m = new JailManager({ exec, dataDir, subnet, pool: driver.pool.name, onStep });
  await m.open();
  const env = await m.env();
  const host = await probeHost();
  const result: Record<string, unknown> = {};
  const rawIds: string[] = [];
  try {
    // 1. raw runc run -d, bundles and network made beforehand
    const rawMs: number[] = [];
    const devnull = await open('/dev/null', 'w');
    for (let i = 0; i < o.startN; i++) {
      const name = `raw${i}`;
      const names = jailNames(env.config.instance, name);
      const ip = await env.leases.acquire(name);
      const ds = `raw/${name}`;
      await driver.createDataset(ds);
      const spec = parseJailSpec({ name, image: 'site:v1', imagePath: driver.snapshotPath(imageSnapshot({ name: 'site', tag: 'v1' })), writablePath: driver.datasetPath(ds), command: IDLE }, { instance: env.config.instance, hostCpus: cpus().length });
      spec.ip = ip;
      const bundle = join(dataDir, 'raw', name);
      await writeBundle(bundle, { spec, host, ip, resolver: { nameservers: [], search: [] } });
      const t0 = performance.now();
      // by hand: the same ip commands, one after the other
      for (const step of jailNetworkPlan(names, env.config.bridge, env.leases.subnet, ip)) await exec(step.argv);
      await exec(runcRun(m.runc.global, name, bundle, { detach: true }), { outputFd: devnull.fd });
      rawMs.push(performance.now() - t0);
      rawIds.push(name);
    }
    await devnull.close();
    for (const id of rawIds) {
      await exec(runcDelete(m.runc.global, id, { force: true }));
      await env.net.teardownJailNetwork(jailNames(env.config.instance, id));
      await env.leases.release(id);
    }
    rawIds.length = 0;

    // 1b. cellblock create --start, with quota groups and a disk limit (as always), then without
    const stepMs = new Map<string, number[]>();
    const createStart = async (prefix: string, perStep?: Map<string, number[]>): Promise<number[]> => {
      const ms: number[] = [];
      for (let i = 0; i < o.startN; i++) {
        steps = new Map();
        const t0 = performance.now();
        await m.create({ name: `${prefix}${i}`, image: 'site:v1', command: IDLE, start: true });
        const total = performance.now() - t0;
        ms.push(total);
        steps.set('(rest: locks, env, untimed)', total - [...steps.values()].reduce((a, b) => a + b, 0));
        for (const [k, v] of steps) perStep?.set(k, [...(perStep.get(k) ?? []), v]);
        steps = undefined;
      }
      for (let i = 0; i < o.startN; i++) await m.remove(`${prefix}${i}`, { force: true });
      return ms;
    };
    const cbMs = await createStart('s', stepMs);
    // quotas off: the pool's quota groups disabled and the manager's limit step skipped (bench only)
    const setDiskLimit = env.driver.setDiskLimit;
    await exec(['btrfs', 'quota', 'disable', driver.pool.mountpoint]);
    env.driver.setDiskLimit = async () => {};
    let offMs: number[];
    try {
      offMs = await createStart('q');
    } finally {
      env.driver.setDiskLimit = setDiskLimit;
      await exec(['btrfs', 'quota', 'enable', driver.pool.mountpoint]);
    }
    const p50 = pct(cbMs, 50);
    const rawP50 = pct(rawMs, 50);
    result.start = {
      jails: o.startN,
      cellblock: { p50Ms: +p50.toFixed(1), p95Ms: +pct(cbMs, 95).toFixed(1) },
      quotasOff: { p50Ms: +pct(offMs, 50).toFixed(1), p95Ms: +pct(offMs, 95).toFixed(1) },
      rawRunc: { p50Ms: +rawP50.toFixed(1), p95Ms: +pct(rawMs, 95).toFixed(1) },
      stepsP50Ms: Object.fromEntries([...stepMs].map(([k, v]) => [k, +pct(v, 50).toFixed(1)])),
      ratioP50: +(p50 / rawP50).toFixed(2),
      goal: 'p50 <= 1.3x raw runc and < 100 ms',
      met: p50 / rawP50 <= 1.3 && p50 < 100,
    };

    // 2. density
    const t1 = performance.now();
    // each with a disk limit (quota groups on): 200 x 16M promised on a 4G pool
    for (let i = 0; i < o.densityN; i++) await m.create({ name: `d${i}`, image: 'site:v1', command: SERVE, memory: '64M', disk: '16M', start: true });
    const startAllS = (performance.now() - t1) / 1000;
    const jails = await m.list();
    let answered = 0;
    for (const j of jails) {
      for (let tries = 0; tries < 50; tries++) {
        const ok = await fetch(`http://${j.ip}:8080/index.html`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status === 200, () => false);
        if (ok) { answered++; break; }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    let memBytes = 0;
    let conmonKb = 0;
    let poolBytes = 0;
    for (const j of jails) {
      memBytes += (await cgroupUsage(jailNames(env.config.instance, j.name).cgroupsPath)).memoryBytes ?? 0;
      const conmonPid = Number((await readFile(join(dataDir, 'jails', j.name, 'run', 'conmon.pid'), 'utf8').catch(() => '0')).trim());
      if (conmonPid) conmonKb += await rssKb(conmonPid);
      poolBytes += (await driver.usage(`jails/${j.name}`)).exclusive;
    }
    const t2 = performance.now();
    for (const j of jails) await m.remove(j.name, { force: true });
    const removeAllS = (performance.now() - t2) / 1000;
    const perPool = poolBytes / jails.length;
    result.density = {
      jails: jails.length,
      answeredHttp: answered,
      startAllSeconds: +startAllS.toFixed(1),
      removeAllSeconds: +removeAllS.toFixed(1),
      memoryPerJail: formatSize(Math.round(memBytes / jails.length)),
      conmonRssPerJail: formatSize(Math.round((conmonKb * 1024) / jails.length)),
      poolBytesPerJail: Math.round(perPool),
      goal: 'under 1 MB of pool per jail',
      met: perPool < 1024 * 1024 && answered === jails.length,
    };
  } finally {
    for (const id of rawIds) await exec(runcDelete(m.runc.global, id, { force: true })).catch(() => {});
    for (const j of await m.list().catch(() => [])) await m.remove(j.name, { force: true }).catch(() => {});
    await m.close();
    for (const ns of await exec(['ip', 'netns', 'list']).then((r) => r.stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.endsWith(`@${env.config.instance}`)), () => [])) {
      await exec(['ip', 'netns', 'del', ns]).catch(() => {});
    }
    await env.net.removeBridge().catch(() => {});
    await removeCgroupParents(env.config.instance).catch(() => {});
  }
  return result;
}

export function printJailBench(r: Record<string, unknown>): void {
  const s = r.start as { jails: number; cellblock: { p50Ms: number; p95Ms: number }; quotasOff: { p50Ms: number; p95Ms: number }; rawRunc: { p50Ms: number; p95Ms: number }; stepsP50Ms?: Record<string, number>; ratioP50: number; goal: string; met: boolean } | undefined;
  if (s) {
    console.log(`jail create+start, ${s.jails} jails        p50        p95`);
    console.log(`  cellblock (manager), quotas on ${String(s.cellblock.p50Ms).padStart(7)} ms ${String(s.cellblock.p95Ms).padStart(7)} ms`);
    console.log(`  cellblock, quotas off          ${String(s.quotasOff.p50Ms).padStart(7)} ms ${String(s.quotasOff.p95Ms).padStart(7)} ms`);
    console.log(`  raw ip + runc run -d           ${String(s.rawRunc.p50Ms).padStart(7)} ms ${String(s.rawRunc.p95Ms).padStart(7)} ms`);
    console.log('  steps of a cellblock create+start (quotas on), p50 each:');
    for (const [k, v] of Object.entries(s.stepsP50Ms ?? {})) console.log(`    ${k.padEnd(28)} ${String(v).padStart(7)} ms`);
    console.log(`  ratio p50 ${s.ratioP50}x   goal: ${s.goal}   ${s.met ? 'MET' : 'NOT MET'}`);
  }
  const d = r.density as Record<string, unknown> | undefined;
  if (d) {
    console.log(`density: ${d.jails} jails answering HTTP: ${d.answeredHttp}`);
    console.log(`  start all ${d.startAllSeconds} s, remove all ${d.removeAllSeconds} s`);
    console.log(`  memory per jail ${d.memoryPerJail} (cgroup) + conmon ${d.conmonRssPerJail} RSS; pool per jail ${formatSize(d.poolBytesPerJail as number)}`);
    console.log(`  goal: ${d.goal}   ${d.met ? 'MET' : 'NOT MET'}`);
  }
}
