/**
 * Rollouts as the agent serves them, on the in-memory store: apply starts one when a spec
 * changes (in the same transaction), status and history read it, undo goes back or says why not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { StackService, type ImageLookup } from '../../src/agent/services/stacks.js';
import { RolloutService } from '../../src/agent/services/rollouts.js';
import { K } from '../../src/cluster/keys.js';
import { MemoryStore } from '../../src/cluster/memory-store.js';
import type { ServiceRecord } from '../../src/cluster/model.js';
import type { RolloutRecord } from '../../src/cluster/rollout.js';
import { DEPLOY_DEFAULTS, type ServiceSpec, type Stack } from '../../src/spec/types.js';
import { NotFoundError, UserError } from '../../src/sys/errors.js';
import { clusterRouteHandlers } from '../../src/agent/http/index.js';
import { startHarness } from '../helpers/api-harness.js';
import { fakeCluster } from '../helpers/fake-cluster-services.js';
import { statusLines } from '../../src/cli/commands/rollout/render.js';

const log = pino({ level: 'silent' });
const images: ImageLookup = { announce: async () => {}, isLocal: async () => true, holders: async () => [] };

function spec(name: string, tag: string, o: Partial<ServiceSpec> = {}): ServiceSpec {
  return { name, image: { name: 'site', tag }, replicas: 2, command: ['/bin/true'], env: {}, restart: 'always', deploy: { ...DEPLOY_DEFAULTS }, ...o } as ServiceSpec;
}
const stackOf = (...s: ServiceSpec[]): Stack => ({ services: Object.fromEntries(s.map((x) => [x.name, x])) }) as Stack;

function setup() {
  const store = new MemoryStore();
  let t = Date.parse('2030-01-01T00:00:00Z');
  const now = () => new Date(t += 1000);
  return { store, stacks: new StackService({ store, images, log, now }), rollouts: new RolloutService({ store, log, now }) };
}

test('apply starts a rollout for a changed spec only, in the same revision as the services', async () => {
  const { store, stacks, rollouts } = setup();
  await stacks.apply('web', 'web.yml', stackOf(spec('site', 'v1'), spec('api', 'v1')));
  assert.equal(await store.get(K.rollout('web', 'site')), undefined, 'a new service is no rollout');
  await assert.rejects(rollouts.list({ service: 'site' }), (e: unknown) => e instanceof NotFoundError && /has had no rollout/.test(e.message));

  const r = await stacks.apply('web', 'web.yml', stackOf(spec('site', 'v2'), spec('api', 'v1', { replicas: 5 })));
  const kv = await store.get(K.rollout('web', 'site'));
  assert.equal(kv?.modRevision, r.revision);
  assert.equal(await store.get(K.rollout('web', 'api')), undefined, 'scaling is no rollout');
  const [v] = await rollouts.list({ service: 'site' });
  assert.deepEqual([v!.state, v!.from?.image, v!.to.image, v!.current?.replicas], ['progressing', 'site:v1', 'site:v2', 2]);
  assert.equal((v as unknown as { from: Record<string, unknown> }).from.spec, undefined, 'the view names the previous spec, not all of it');
  assert.deepEqual((await rollouts.list({ stack: 'web' })).map((x) => x.service), ['site']);
});

test('undo: back to the previous spec; refused without one, and a NAME in two stacks must be STACK/NAME', async () => {
  const { store, stacks, rollouts } = setup();
  await stacks.apply('web', 'web.yml', stackOf(spec('site', 'v1')));
  await assert.rejects(rollouts.undo('site'), (e: unknown) => e instanceof UserError && /no previous spec/.test(e.message));
  await stacks.apply('web', 'web.yml', stackOf(spec('site', 'v2')));
  const u = await rollouts.undo('web/site');
  assert.equal(u.state, 'undone');
  const svc = await store.getJson<ServiceRecord>(K.service('web', 'site'));
  assert.equal(svc?.spec.image.tag, 'v1');
  assert.equal((await store.getJson<RolloutRecord>(K.rollout('web', 'site')))?.history[0]?.outcome, 'undone');

  await stacks.apply('other', 'o.yml', stackOf(spec('site', 'v1')));
  await assert.rejects(rollouts.undo('site'), (e: unknown) => e instanceof UserError && /in several stacks: other, web/.test(e.message) && /other\/site/.test((e as UserError).fix ?? ''));
  await assert.rejects(rollouts.undo('nope'), NotFoundError);
});

test('through the API (replies checked against the contract): status, history, undo, and a refusal', async () => {
  const { stacks, rollouts } = setup();
  await stacks.apply('web', 'web.yml', stackOf(spec('site', 'v1')));
  await stacks.apply('web', 'web.yml', stackOf(spec('site', 'v2')));
  const h = await startHarness('cellblock-rollouts-', { extra: clusterRouteHandlers({ ...fakeCluster(), rollouts }) });
  try {
    const api = h.client();
    const [v] = await api.call('rollouts', { query: { service: 'site' } });
    assert.match(statusLines(v!)[0]!, /^web\/site: progressing from [0-9a-f]{8} \(site:v1\) to [0-9a-f]{8} \(site:v2\), \d+s elapsed, deadline 2m00s per new replica$/);
    const u = await api.call('rolloutUndo', { body: { service: 'web/site' } });
    assert.equal(u.state, 'undone');
    await assert.rejects(api.call('rollouts', { query: { service: 'nope' } }), /no service nope/);
  } finally {
    await h.close();
  }
});
