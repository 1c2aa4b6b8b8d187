// The agent's supervision of keepalived (lb/keepalived.ts) without keepalived: a recording exec
// answers `keepalived -t` and `ip addr`, and "keepalived" is a small node process whose command
// line names the configuration (as the real one's does) and that records the signals it gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { spawnDetached, type Exec } from '../../src/sys/exec.js';
import { UserError } from '../../src/sys/errors.js';
import { Keepalived, keepalivedPid } from '../../src/lb/keepalived.js';
import { keepalivedConfig, keepalivedPaths, type VipSettings } from '../../src/lb/keepalived-config.js';

const log = pino({ level: 'silent' });
const IP_OUT = readFileSync(fileURLToPath(new URL('../../../test/fixtures/lb/ip-addr-show-vip.json', import.meta.url)), 'utf8');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, fn: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

interface Rig { dir: string; k: Keepalived; calls: string[][]; spawned: number[]; signals: string; state: { lease: boolean; haproxy: boolean; testCode: number }; done: () => Promise<void> }

/** A Keepalived on a temporary data dir whose "keepalived" is a node process recording its signals. */
async function rig(): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'cb-keepalived-'));
  const p = keepalivedPaths(dir);
  const signals = join(dir, 'signals');
  const state = { lease: true, haproxy: true, testCode: 0 };
  const calls: string[][] = [];
  const spawned: number[] = [];
  const exec: Exec = async (argv) => {
    calls.push([...argv]);
    if (argv[0] === 'keepalived') return { code: state.testCode, stdout: '', stderr: state.testCode ? '(Line 3) Unknown keyword' : '' };
    return { code: 0, stdout: IP_OUT, stderr: '' };
  };
  const script = `const fs=require('fs');fs.writeFileSync(${JSON.stringify(p.pid)},String(process.pid));for(const s of ['SIGHUP','SIGTERM'])process.on(s,()=>{fs.appendFileSync(${JSON.stringify(signals)},s+'\\n');if(s==='SIGTERM')process.exit(0)});setInterval(()=>{},1000)`;
  const k = new Keepalived({
    dataDir: dir, exec, log, leaseHeld: () => state.lease, haproxyRunning: () => state.haproxy, trackMs: 10, checkMs: 50,
    spawn: (argv) => { const pid = spawnDetached([process.execPath, '-e', script, '--', ...argv.slice(1)]); spawned.push(pid); return pid; },
  });
  return {
    dir, k, calls, spawned, signals, state,
    done: async () => {
      await k.stop();
      for (const pid of spawned) { try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ } }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const settings = (dir: string, hosts = 3): VipSettings => ({
  host: 'h0', address: '10.9.0.1', interface: 'eth0', prefix: 24, vip: '10.9.0.100', trackFile: keepalivedPaths(dir).trackFile,
  hosts: [{ name: 'h0', address: '10.9.0.1' }, { name: 'h1', address: '10.9.0.2' }, { name: 'h2', address: '10.9.0.3' }].slice(0, hosts),
});

test('apply: the configuration checked with keepalived -t, then keepalived started; the same again changes nothing; a change reloads (SIGHUP)', async () => {
  const r = await rig();
  try {
    const p = keepalivedPaths(r.dir);
    await r.k.apply(settings(r.dir));
    assert.equal(await readFile(p.config, 'utf8'), keepalivedConfig(settings(r.dir)));
    assert.deepEqual(r.calls.find((c) => c[0] === 'keepalived'), ['keepalived', '--config-test', '--use-file', `${p.config}.new`]);
    assert.equal(await readFile(p.trackFile, 'utf8'), '0\n', 'the track file is written before keepalived starts');
    assert.equal(r.spawned.length, 1);
    await until('the pid file', async () => (await keepalivedPid(r.dir)) === r.spawned[0]);
    await r.k.apply(settings(r.dir));
    assert.equal(r.spawned.length, 1);
    await sleep(100);
    assert.equal(await readFile(r.signals, 'utf8').catch(() => ''), '');
    await r.k.apply(settings(r.dir, 2));
    await until('SIGHUP', async () => (await readFile(r.signals, 'utf8').catch(() => '')) === 'SIGHUP\n');
    assert.equal(r.spawned.length, 1);
  } finally {
    await r.done();
  }
});

test('a configuration keepalived -t refuses: a UserError, the running one kept', async () => {
  const r = await rig();
  try {
    await r.k.apply(settings(r.dir));
    r.state.testCode = 1;
    await assert.rejects(r.k.apply(settings(r.dir, 2)), (e: unknown) => e instanceof UserError && /keepalived -t exit 1.*Unknown keyword/.test(e.message));
    assert.equal(await readFile(keepalivedPaths(r.dir).config, 'utf8'), keepalivedConfig(settings(r.dir)));
  } finally {
    await r.done();
  }
});

test('no settings: keepalived stopped (SIGTERM) and its configuration removed', async () => {
  const r = await rig();
  try {
    await r.k.apply(settings(r.dir));
    await until('the pid file', async () => (await keepalivedPid(r.dir)) !== undefined);
    await r.k.apply(undefined, 'no lb.vip is set');
    assert.equal(await readFile(r.signals, 'utf8'), 'SIGTERM\n');
    assert.equal(await keepalivedPid(r.dir), undefined);
    await assert.rejects(readFile(keepalivedPaths(r.dir).config, 'utf8'));
  } finally {
    await r.done();
  }
});

test('the timers: the track file follows the lease and HAProxy; a dead keepalived is started again; vipHeld from the interface', async () => {
  const r = await rig();
  try {
    const track = () => readFile(keepalivedPaths(r.dir).trackFile, 'utf8').catch(() => '');
    await r.k.apply(settings(r.dir));
    r.k.start();
    await until('vipHeld (the fixture has 10.9.0.100 on eth0)', () => r.k.vipHeld());
    r.state.lease = false;
    await until('track 1 without the lease', async () => (await track()) === '1\n');
    r.state.lease = true;
    await until('track 0 again', async () => (await track()) === '0\n');
    r.state.haproxy = false;
    await until('track 1 without HAProxy', async () => (await track()) === '1\n');
    await until('the pid file', async () => (await keepalivedPid(r.dir)) !== undefined);
    process.kill(r.spawned[0]!, 'SIGKILL');
    await until('keepalived started again', () => r.spawned.length === 2, 6000);
  } finally {
    await r.done();
  }
});

test('a keepalived of another data dir is not adopted: the pid file must name a process whose command line has this configuration', async () => {
  const r = await rig();
  try {
    await mkdir(keepalivedPaths(r.dir).dir, { recursive: true });
    await writeFile(keepalivedPaths(r.dir).pid, String(process.pid));
    assert.equal(await keepalivedPid(r.dir), undefined);
  } finally {
    await r.done();
  }
});

test('trackNow: a HAProxy that stops is in the track file at once, without waiting for a tick (no timers started here)', async () => {
  const r = await rig();
  try {
    const track = () => readFile(keepalivedPaths(r.dir).trackFile, 'utf8').catch(() => '');
    await r.k.apply(settings(r.dir));
    assert.equal(await track(), '0\n');
    r.state.haproxy = false;
    r.k.trackNow();
    r.state.haproxy = true; // restarted right away: the stop is still written (sampled when trackNow was called)
    await until('track 1', async () => (await track()) === '1\n', 2000);
    r.k.trackNow();
    await until('track 0 again', async () => (await track()) === '0\n', 2000);
  } finally {
    await r.done();
  }
});
