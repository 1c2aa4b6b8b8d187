import { DEPLOY_DEFAULTS } from '../../src/spec/types.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  actionKey, afterFailure, BACKOFF_MAX_MS, coolingDown, jailRequest, pruneRetries, reconcile, type Action, type ReconcileInput, type Retry,
} from '../../src/agent/reconcile.js';
import type { Assignment } from '../../src/cluster/model.js';
import { parseJailSpec } from '../../src/jail/model.js';
import type { JailState, JailView } from '../../src/jail/service.js';
import type { ServiceSpec } from '../../src/spec/types.js';
import { specHash } from '../../src/cluster/stacks.js';

// ---- builders ----

function spec(name: string, tag = 'v1'): ServiceSpec {
  return {
    name, image: { name, tag }, replicas: 3, command: ['/app/run'], env: {}, pids: 1024, rw: [], restart: 'always', deploy: { ...DEPLOY_DEFAULTS },
    user: { uid: 0, gid: 0 },
  };
}

/** `as('demo.site.0')`, hash h1, image site:v1 */
function as(jail: string, hash = 'h1', tag = 'v1'): Assignment {
  const [stack, service, replica] = jail.split('.') as [string, string, string];
  return { stack, service, replica: Number(replica), jail, spec: spec(service, tag), specHash: hash };
}

function jail(name: string, state: JailState = 'running'): JailView {
  return {
    name, image: 'site:v1', ip: '10.0.0.2', state, pid: state === 'running' ? 42 : null, restart: 'always', restarts: 0,
    lastExitCode: null, lastExitReason: null, command: ['/app/run'], createdAt: '2024-01-01T00:00:00Z', startedAt: null,
  };
}

function input(o: Partial<ReconcileInput>): ReconcileInput {
  return {
    assignments: [], jails: [], inFlight: new Set(), cooldown: new Set(), imagesPresent: new Set(['site:v1', 'api:v1']), hashes: new Map(), ...o,
  };
}

/** Actions as short strings: "create demo.site.0" */
function short(actions: Action[]): string[] {
  return actions.map((a) => `${a.kind} ${a.kind === 'pull' ? a.image : a.kind === 'create' || a.kind === 'replace' || a.kind === 'resize' ? a.assignment.jail : a.jail}`);
}

const hashes = (...names: string[]): Map<string, string> => new Map(names.map((n) => [n, 'h1']));

// ---- reconcile ----

test('absent jails are created, with the assignment', () => {
  const a0 = as('demo.site.0');
  const r = reconcile(input({ assignments: [a0, as('demo.site.1')] }));
  assert.deepEqual(short(r.actions), ['create demo.site.0', 'create demo.site.1']);
  assert.deepEqual(r.actions[0], { kind: 'create', assignment: a0 });
  assert.equal(r.sentence, 'create demo.site.0; create demo.site.1');
});

test('a missing image is pulled once, and nothing is created until it is present', () => {
  const r = reconcile(input({ assignments: [as('demo.site.0', 'h2', 'v2'), as('demo.site.1', 'h2', 'v2'), as('demo.api.0')] }));
  assert.deepEqual(short(r.actions), ['pull site:v2', 'create demo.api.0']);
  assert.equal(r.sentence, 'pull site:v2; create demo.api.0');
});

test('a running jail with the same spec hash is left alone', () => {
  const r = reconcile(input({
    assignments: [as('demo.site.0'), as('demo.site.1')],
    jails: [jail('demo.site.0'), jail('demo.site.1', 'restarting')],
    hashes: hashes('demo.site.0', 'demo.site.1'),
  }));
  assert.deepEqual(r.actions, []);
  assert.equal(r.sentence, 'nothing to do (2 replicas running)');
  assert.equal(reconcile(input({})).sentence, 'nothing to do (0 replicas running)');
});

test('a jail on another spec hash (or none recorded) is replaced', () => {
  const r = reconcile(input({
    assignments: [as('demo.site.0', 'h2'), as('demo.site.1', 'h2')],
    jails: [jail('demo.site.0'), jail('demo.site.1', 'stopped')],
    hashes: new Map([['demo.site.0', 'h1']]),
  }));
  assert.deepEqual(short(r.actions), ['replace demo.site.0', 'replace demo.site.1']);
});

test('a replace waits for its image too', () => {
  const r = reconcile(input({
    assignments: [as('demo.site.0', 'h2', 'v2')], jails: [jail('demo.site.0')], hashes: hashes('demo.site.0'),
  }));
  assert.deepEqual(short(r.actions), ['pull site:v2']);
});

test('created, stopped and failed jails are started', () => {
  const r = reconcile(input({
    assignments: [as('demo.site.0'), as('demo.site.1'), as('demo.site.2')],
    jails: [jail('demo.site.0', 'created'), jail('demo.site.1', 'stopped'), jail('demo.site.2', 'failed')],
    hashes: hashes('demo.site.0', 'demo.site.1', 'demo.site.2'),
  }));
  assert.deepEqual(short(r.actions), ['start demo.site.0', 'start demo.site.1', 'start demo.site.2']);
  assert.equal(r.sentence, 'start demo.site.0; start demo.site.1; start demo.site.2');
});

test('managed jails that are not assigned are removed; other jails are never touched', () => {
  const r = reconcile(input({
    assignments: [as('demo.site.0')],
    jails: [jail('demo.site.0'), jail('demo.site.3'), jail('mydb'), jail('Demo.site.1'), jail('a.b'), jail('old.web.12')],
    hashes: hashes('demo.site.0'),
  }));
  assert.deepEqual(short(r.actions), ['remove demo.site.3', 'remove old.web.12']);
});

test('nothing is proposed for a jail in flight, nor a create or replace whose pull is in flight', () => {
  const r = reconcile(input({
    assignments: [as('demo.site.0'), as('demo.site.1', 'h2', 'v2'), as('demo.site.2', 'h2', 'v2'), as('demo.api.0')],
    jails: [jail('demo.site.0', 'stopped'), jail('demo.site.2'), jail('demo.site.5')],
    hashes: hashes('demo.site.0', 'demo.site.2'),
    inFlight: new Set(['demo.site.0', 'pull:site:v2', 'demo.site.5']),
  }));
  assert.deepEqual(short(r.actions), ['create demo.api.0']);
  // the pull finished: the image is present, the pull key gone
  const later = reconcile(input({
    assignments: [as('demo.site.1', 'h2', 'v2')], imagesPresent: new Set(['site:v2']),
  }));
  assert.deepEqual(short(later.actions), ['create demo.site.1']);
  // everything waits
  const idle = reconcile(input({ assignments: [as('demo.site.0')], inFlight: new Set(['demo.site.0']) }));
  assert.equal(idle.sentence, 'nothing to do (0 replicas running, 1 in progress)');
});

test('the output does not depend on the order of the input: pulls, then jails, then removes, each sorted', () => {
  const assignments = [as('b.web.1', 'h1', 'v3'), as('a.api.0', 'h1', 'v9'), as('a.site.0'), as('a.site.2'), as('a.site.1')];
  const jails = [jail('z.old.0'), jail('a.site.1', 'stopped'), jail('c.old.0'), jail('a.site.2')];
  const i = input({ assignments, jails, hashes: new Map([['a.site.1', 'h1'], ['a.site.2', 'h0']]) });
  const want = ['pull api:v9', 'pull web:v3', 'create a.site.0', 'start a.site.1', 'replace a.site.2', 'remove c.old.0', 'remove z.old.0'];
  assert.deepEqual(short(reconcile(i).actions), want);
  const rev = reconcile({ ...i, assignments: [...assignments].reverse(), jails: [...jails].reverse() });
  assert.deepEqual(short(rev.actions), want);
  assert.equal(rev.sentence, want.join('; '));
});

test('keys cooling down after a failure are not proposed (jails and pulls); the rest are', () => {
  const r = reconcile(input({
    assignments: [as('demo.site.0'), as('demo.site.1'), as('demo.site.2', 'h2', 'v2'), as('demo.site.3', 'h1', 'v3'), as('demo.api.0')],
    jails: [jail('demo.site.1', 'failed'), jail('demo.old.0'), jail('demo.old.1')],
    hashes: hashes('demo.site.1'),
    cooldown: new Set(['demo.site.0', 'demo.site.1', 'pull:site:v2', 'demo.old.0']),
  }));
  assert.deepEqual(short(r.actions), ['pull site:v3', 'create demo.api.0', 'remove demo.old.1']);
  const idle = reconcile(input({
    assignments: [as('demo.site.0'), as('demo.site.1')], jails: [jail('demo.site.1')], hashes: hashes('demo.site.1'),
    cooldown: new Set(['demo.site.0']),
  }));
  assert.deepEqual(idle.actions, []);
  assert.equal(idle.sentence, 'nothing to do (1 replica running, 1 to retry after a failure)');
  // a cooled-down create whose image is present again waits; one whose image is missing waits for its pull
  const pulled = reconcile(input({
    assignments: [as('demo.site.0', 'h2', 'v2')], cooldown: new Set(['demo.site.0']), imagesPresent: new Set(['site:v2']),
  }));
  assert.deepEqual(pulled.actions, []);
});

test('backoff: 1 s after the first failure, doubling to at most 30 s; a key cools down until then', () => {
  let r: Retry | undefined;
  const waits: number[] = [];
  for (let n = 0; n < 8; n++) {
    r = afterFailure(r, 1000 * n);
    waits.push(r.until - 1000 * n);
  }
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(r!.failures, 8);
  // far beyond any sane count: still capped, never Infinity or NaN
  assert.equal(afterFailure({ failures: 5000, until: 0 }, 10).until, 10 + BACKOFF_MAX_MS);

  const retries = new Map<string, Retry>([['demo.site.0', afterFailure(undefined, 100)], ['pull:site:v2', afterFailure({ failures: 2, until: 0 }, 100)]]);
  assert.deepEqual([...coolingDown(retries, 100)].sort(), ['demo.site.0', 'pull:site:v2']);
  assert.deepEqual([...coolingDown(retries, 1099)].sort(), ['demo.site.0', 'pull:site:v2']);
  assert.deepEqual([...coolingDown(retries, 1100)], ['pull:site:v2']); // its time has come: proposed again
  assert.deepEqual([...coolingDown(retries, 4100)], []);
  assert.deepEqual([...coolingDown(new Map(), 0)], []);
});

test('a key cooling down is proposed again once its time is up, and the backoff keeps growing only while it fails', () => {
  const a = as('demo.site.0');
  const at = (now: number, retries: Map<string, Retry>) => short(reconcile(input({ assignments: [a], cooldown: coolingDown(retries, now) })).actions);
  const retries = new Map<string, Retry>();
  assert.deepEqual(at(0, retries), ['create demo.site.0']);
  retries.set('demo.site.0', afterFailure(retries.get('demo.site.0'), 0)); // failed at 0
  assert.deepEqual(at(10, retries), []);
  assert.deepEqual(at(999, retries), []);
  assert.deepEqual(at(1000, retries), ['create demo.site.0']);
  retries.set('demo.site.0', afterFailure(retries.get('demo.site.0'), 1000)); // failed again
  assert.deepEqual(at(2999, retries), []);
  assert.deepEqual(at(3000, retries), ['create demo.site.0']);
  retries.delete('demo.site.0'); // succeeded: reset
  retries.set('demo.site.0', afterFailure(retries.get('demo.site.0'), 5000));
  assert.equal(retries.get('demo.site.0')!.until, 6000);
});

test('pruneRetries: drops counts not tried again for a full maximum backoff, unless in flight', () => {
  const retries = new Map<string, Retry>([['a.b.0', { failures: 3, until: 1000 }], ['a.b.1', { failures: 3, until: 1000 }], ['pull:x:1', { failures: 1, until: 20_000 }]]);
  assert.deepEqual([...pruneRetries(retries, 1000 + BACKOFF_MAX_MS - 1, new Set()).keys()], ['a.b.0', 'a.b.1', 'pull:x:1']);
  assert.deepEqual([...pruneRetries(retries, 1000 + BACKOFF_MAX_MS, new Set(['a.b.1'])).keys()], ['a.b.1', 'pull:x:1']);
});

test('actionKey: the jail, or pull:NAME:TAG', () => {
  assert.equal(actionKey({ kind: 'pull', image: 'site:v2' }), 'pull:site:v2');
  assert.equal(actionKey({ kind: 'create', assignment: as('demo.site.0') }), 'demo.site.0');
  assert.equal(actionKey({ kind: 'replace', assignment: as('demo.site.1') }), 'demo.site.1');
  assert.equal(actionKey({ kind: 'start', jail: 'demo.site.2' }), 'demo.site.2');
  assert.equal(actionKey({ kind: 'remove', jail: 'demo.site.3' }), 'demo.site.3');
});

// ---- disk raised in place ----

test('a spec whose only change is a larger disk resizes the jail in place; anything else, or a smaller disk, replaces it', () => {
  const G = 1024 ** 3;
  const old: ServiceSpec = { ...spec('site'), diskBytes: 2 * G };
  const withDisk = (j: JailView, limitBytes: number | null): JailView => ({ ...j, disk: { limitBytes, usedBytes: 0, enforced: true } });
  const assign = (s: ServiceSpec): Assignment => ({ ...as('demo.site.0'), spec: s, specHash: specHash(s) });
  const run = (s: ServiceSpec, limit: number | null, recorded = specHash(old), canResize = true) =>
    reconcile(input({ assignments: [assign(s)], jails: [withDisk(jail('demo.site.0'), limit)], hashes: new Map([['demo.site.0', recorded]]), canResize }));

  const raised = run({ ...old, diskBytes: 5 * G }, 2 * G);
  assert.deepEqual(short(raised.actions), ['resize demo.site.0']);
  assert.equal(raised.sentence, 'raise the disk limit of demo.site.0 to 5.00G in place');
  assert.equal(actionKey(raised.actions[0]!), 'demo.site.0');
  // from the default (no disk: in the file) to a larger one
  const { diskBytes: _d, ...plain } = old;
  assert.deepEqual(short(run({ ...plain, diskBytes: 3 * G }, G, specHash(plain)).actions), ['resize demo.site.0']);
  // smaller: a rollout (the jail may hold more than the new limit)
  assert.deepEqual(short(run({ ...old, diskBytes: G }, 2 * G).actions), ['replace demo.site.0']);
  // disk and something else: a rollout
  assert.deepEqual(short(run({ ...old, diskBytes: 5 * G, pids: 99 }, 2 * G).actions), ['replace demo.site.0']);
  // a service that cannot resize, or a jail whose limit is unknown: a rollout
  assert.deepEqual(short(run({ ...old, diskBytes: 5 * G }, 2 * G, specHash(old), false).actions), ['replace demo.site.0']);
  assert.deepEqual(short(run({ ...old, diskBytes: 5 * G }, null).actions), ['replace demo.site.0']);
  // cooling down after a failed resize: nothing now
  const cooling = reconcile(input({
    assignments: [assign({ ...old, diskBytes: 5 * G })], jails: [withDisk(jail('demo.site.0'), 2 * G)],
    hashes: new Map([['demo.site.0', specHash(old)]]), canResize: true, cooldown: new Set(['demo.site.0']),
  }));
  assert.deepEqual(cooling.actions, []);
});

// ---- jailRequest ----

test('jailRequest: the raw request, started at once', () => {
  const a = as('demo.site.0');
  a.spec = {
    ...a.spec, memoryBytes: 512 * 1024 * 1024, cpus: 0.5, pids: 256, env: { LOG_LEVEL: 'info', URL: 'a=b' },
    user: { uid: 1000, gid: 100 }, rw: ['/srv/data', '/var/lib/app'], restart: 'on-failure', command: ['/app/run', '--port', '8080'],
  };
  assert.deepEqual(jailRequest(a), {
    name: 'demo.site.0', image: 'site:v1', memory: '536870912', cpus: '0.5', pids: '256',
    env: ['LOG_LEVEL=info', 'URL=a=b'], user: '1000:100', rw: ['/srv/data', '/var/lib/app'], restart: 'on-failure',
    command: ['/app/run', '--port', '8080'], start: true, disk: String(1024 ** 3),
  });
  // disk: always given, the service's or the default the scheduler counted
  assert.equal(jailRequest({ ...a, spec: { ...a.spec, diskBytes: 5 * 1024 ** 3 } }).disk, String(5 * 1024 ** 3));
  // no limits: no memory or cpus
  const plain = jailRequest(as('demo.site.1'));
  assert.equal('memory' in plain, false);
  assert.equal('cpus' in plain, false);
  assert.equal('etc' in plain, false);
  // users by name and files laid over /etc reach the jail manager as typed
  const named = as('demo.site.2');
  named.spec = { ...named.spec, user: { uid: 'www-data', gid: '' }, etc: { 'nginx/nginx.conf': '/app/etc/nginx.conf', shadow: 'host' } };
  const r = jailRequest(named);
  assert.equal(r.user, 'www-data:');
  assert.deepEqual(r.etc, ['nginx/nginx.conf=/app/etc/nginx.conf', 'shadow=host']);
});

test('jailRequest: what the jail manager parses from it is the spec', () => {
  const a = as('demo.site.0');
  a.spec = {
    ...a.spec, memoryBytes: 100_000_123, cpus: 0.3 + 0.01, pids: 99, env: { A: '', B: 'x=y=z', C_1: ' spaced ' },
    user: { uid: 4294967294, gid: 0 }, rw: ['/var/x'], restart: 'no', command: ['sh', '-c', 'echo "$A"'],
  };
  const req = jailRequest(a);
  const parsed = parseJailSpec({ ...req, imagePath: '/img', writablePath: '/w' }, { instance: 'test', hostCpus: 8 });
  assert.equal(parsed.name, a.jail);
  assert.deepEqual(parsed.image, a.spec.image);
  assert.equal(parsed.memoryBytes, a.spec.memoryBytes);
  assert.equal(parsed.cpus, a.spec.cpus);
  assert.equal(parsed.pids, a.spec.pids);
  assert.deepEqual(parsed.env, a.spec.env);
  assert.deepEqual(parsed.user, a.spec.user);
  assert.deepEqual(parsed.rw, a.spec.rw);
  assert.equal(parsed.restart, a.spec.restart);
  assert.deepEqual(parsed.command, a.spec.command);
});
