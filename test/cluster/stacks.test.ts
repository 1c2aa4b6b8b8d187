import { DEPLOY_DEFAULTS } from '../../src/spec/types.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyWrites, canonicalJson, checkStackName, diffStack, serviceRecords, serviceStatus, specHash } from '../../src/cluster/stacks.js';
import type { ServiceSpec, Stack } from '../../src/spec/types.js';
import type { HostPlacements, ObservedReplica } from '../../src/cluster/model.js';

const spec = (over: Partial<ServiceSpec> = {}): ServiceSpec => ({
  name: 'site', image: { name: 'site', tag: 'v1' }, replicas: 3, command: ['/usr/bin/python3', '-m', 'http.server'],
  env: {}, pids: 512, rw: [], restart: 'always', deploy: { ...DEPLOY_DEFAULTS }, user: { uid: 0, gid: 0 }, ...over,
});
const stack = (...specs: ServiceSpec[]): Stack => ({ services: Object.fromEntries(specs.map((s) => [s.name, s])) });

describe('stacks', () => {
  test('canonical JSON sorts keys at every level and drops undefined', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } }), '{"a":{"d":[1,{"x":1,"y":2}]},"b":1}');
  });

  test('the spec hash ignores key order and replicas, and changes with anything else', () => {
    const a = spec();
    const reordered = Object.fromEntries(Object.entries(a).reverse()) as unknown as ServiceSpec;
    assert.equal(specHash(a), specHash(reordered));
    assert.equal(specHash(a), specHash(spec({ replicas: 7 })), 'scaling is not a rollout');
    assert.notEqual(specHash(a), specHash(spec({ image: { name: 'site', tag: 'v2' } })));
    assert.notEqual(specHash(a), specHash(spec({ env: { A: '1' } })));
    assert.match(specHash(a), /^[0-9a-f]{16}$/);
  });

  test('publish and deploy change no spec hash: diff calls that "config", after the replica counts when scaled too', () => {
    const cur = serviceRecords('web', stack(spec(), spec({ name: 'api', port: 9000, publish: { tcp: 9000 } })));
    const next = serviceRecords('web', stack(
      spec({ port: undefined, deploy: { ...DEPLOY_DEFAULTS, drainMs: 30_000 } }),
      spec({ name: 'api', replicas: 4, port: 9000, publish: { tcp: 9001 } }),
    ));
    assert.equal(specHash(cur[1]!.spec), specHash(next[1]!.spec));
    assert.equal(specHash(spec()), specHash(spec({ deploy: { ...DEPLOY_DEFAULTS, maxSurge: 3 }, publish: { http: ['a.example.com'] } })));
    assert.deepEqual(diffStack(cur, next), [
      { service: 'api', change: 'scale', details: ['replicas 3 -> 4', 'publish changed'] },
      { service: 'site', change: 'config', details: ['deploy changed'] },
    ]);
  });

  test('diff says add, update (with the fields), scale, remove and unchanged', () => {
    const cur = serviceRecords('web', stack(spec(), spec({ name: 'api' }), spec({ name: 'old' })));
    const next = serviceRecords('web', stack(spec({ image: { name: 'site', tag: 'v2' } }), spec({ name: 'api', replicas: 5 }), spec({ name: 'new', replicas: 1 })));
    assert.deepEqual(diffStack(cur, next), [
      { service: 'api', change: 'scale', details: ['replicas 3 -> 5'] },
      { service: 'new', change: 'add', details: ['1 replicas of site:v1'] },
      { service: 'old', change: 'remove', details: ['3 replicas'] },
      { service: 'site', change: 'update', details: ['image site:v1 -> site:v2'] },
    ]);
    assert.deepEqual(diffStack(cur, cur).map((d) => d.change), ['none', 'none', 'none']);
  });

  test('apply writes the stack record and every service, and deletes removed services', () => {
    const cur = serviceRecords('web', stack(spec(), spec({ name: 'old' })));
    const next = serviceRecords('web', stack(spec()));
    const w = applyWrites('web', 'web.yml', cur, next, 'T');
    assert.deepEqual(w.map((x) => ('delete' in x ? `del ${x.delete}` : `put ${x.put}`)), ['put stacks/web', 'put services/web/site', 'del services/web/old']);
    assert.deepEqual(JSON.parse((w[0] as { value: string }).value), { name: 'web', file: 'web.yml', services: ['site'], appliedAt: 'T' });
  });

  test('status joins placements and observed replicas; old specs and other hosts do not count as ready', () => {
    const [rec] = serviceRecords('web', stack(spec()));
    const a = (r: number) => ({ stack: 'web', service: 'site', replica: r, jail: `web.site.${r}`, spec: rec!.spec, specHash: rec!.specHash });
    const placements: HostPlacements[] = [{ host: 'a', assignments: [a(0)], by: 'a', at: '' }, { host: 'b', assignments: [a(1)], by: 'a', at: '' }];
    const obs = (host: string, r: number, over: Partial<ObservedReplica> = {}): ObservedReplica => ({
      host, jail: `web.site.${r}`, stack: 'web', service: 'site', replica: r, specHash: rec!.specHash, phase: 'running', healthy: true, ip: `10.0.0.${r}`, message: null, at: '', ...over,
    });
    const s = serviceStatus([rec!], placements, [obs('a', 0), obs('b', 1, { specHash: 'old' }), obs('c', 2)]);
    assert.equal(s.length, 1);
    assert.equal(s[0]!.ready, 1);
    assert.deepEqual(s[0]!.instances.map((i) => [i.replica, i.host, i.phase, i.healthy, i.current]), [
      [0, 'a', 'running', true, true],
      [1, 'b', 'running', false, false],
      [2, null, 'unplaced', false, false], // observed on c, but not placed anywhere: not ready
    ]);
  });

  test('stack names cannot hold a dot (they are part of jail names)', () => {
    assert.equal(checkStackName('web_1'), 'web_1');
    assert.throws(() => checkStackName('web.prod'), /invalid stack name/);
    assert.throws(() => checkStackName(''), /invalid stack name/);
  });
});
