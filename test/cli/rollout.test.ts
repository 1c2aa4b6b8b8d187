// The rollout commands' rendering and apply's rollout progress (pure parts of src/cli/commands/rollout/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RolloutView } from '../../src/api/contract.js';
import { historyRows, statusLines } from '../../src/cli/commands/rollout/render.js';
import { RolloutProgress } from '../../src/cli/commands/rollout/progress.js';

const V1 = { specHash: '1a2b3c4d00000000', image: 'site:v1' };
const V2 = { specHash: '5e6f7a8b00000000', image: 'site:v2' };

function view(o: Partial<RolloutView> = {}): RolloutView {
  return {
    stack: 'web', service: 'site', state: 'progressing', from: V1, to: V2, startedAt: '2030-01-01T10:00:00.000Z', endedAt: null, reason: null,
    replicas: [
      { replica: 0, jail: 'web.site.0', host: 'h0', specHash: V1.specHash, surge: false, inRotation: false, notIn: ['h0', 'h1', 'h2'], draining: true, drainingSince: '2030-01-01T10:00:40.000Z' },
      { replica: 1, jail: 'web.site.1', host: 'h1', specHash: V1.specHash, surge: false, inRotation: true, notIn: [], draining: false },
      { replica: 2, jail: 'web.site.2', host: 'h2', specHash: V2.specHash, surge: true, inRotation: false, notIn: ['h2'], draining: false },
    ],
    events: [
      { at: '2030-01-01T10:00:00.000Z', text: 'rollout to spec 5e6f7a8b (site:v2) started from spec 1a2b3c4d (site:v1)' },
      { at: '2030-01-01T10:00:01.000Z', text: 'site#2 (surge) placed on h2 with spec 5e6f7a8b' },
    ],
    history: [{ startedAt: '2029-12-31T09:00:00.000Z', endedAt: '2029-12-31T09:01:00.000Z', from: null, to: V1, outcome: 'complete', reason: null }],
    current: { replicas: 2, specHash: V2.specHash, image: 'site:v2', deadlineMs: 120_000, drainMs: 10_000, maxSurge: 1, maxUnavailable: 0 },
    now: '2030-01-01T10:00:42.000Z',
    ...o,
  };
}

test('rollout status: state, from -> to, elapsed and deadline, each replica, the last events', () => {
  assert.deepEqual(statusLines(view()), [
    'web/site: progressing from 1a2b3c4d (site:v1) to 5e6f7a8b (site:v2), 42s elapsed, deadline 2m00s per new replica',
    '  REPLICA         HOST  SPEC            IN ROTATION           DRAINING',
    '  site#0          h0    1a2b3c4d (old)  no (not on h0 h1 h2)  yes, 2s',
    '  site#1          h1    1a2b3c4d (old)  yes                   no',
    '  site#2 (surge)  h2    5e6f7a8b (new)  no (not on h2)        no',
    'events:',
    '  10:00:00 rollout to spec 5e6f7a8b (site:v2) started from spec 1a2b3c4d (site:v1)',
    '  10:00:01 site#2 (surge) placed on h2 with spec 5e6f7a8b',
  ]);
  const back = statusLines(view({ state: 'rolled-back', endedAt: '2030-01-01T10:02:00.000Z', reason: 'site: rolled back to spec 1a2b3c4d: replica site#2 not in rotation on h2 within 2m00s', replicas: [], events: [] }));
  assert.deepEqual(back, [
    'web/site: rolled-back from 1a2b3c4d (site:v1) to 5e6f7a8b (site:v2), after 2m00s',
    'reason: site: rolled back to spec 1a2b3c4d: replica site#2 not in rotation on h2 within 2m00s',
  ]);
});

test('rollout history: newest first, the rollout in progress on top', () => {
  assert.deepEqual(historyRows(view()), [
    ['2030-01-01 10:00:00', '1a2b3c4d (site:v1)', '5e6f7a8b (site:v2)', 'progressing', ''],
    ['2029-12-31 09:00:00', 'unknown', '1a2b3c4d (site:v1)', 'complete', ''],
  ]);
});

test("apply's rollout progress: each event once, prefixed with the service; a rollback is a failure; done when none progresses", () => {
  const p = new RolloutProgress({ diff: [{ service: 'site', change: 'update', details: [] }, { service: 'api', change: 'none', details: [] }], services: [{ service: 'site', specHash: V2.specHash }, { service: 'api', specHash: 'x' }] });
  assert.equal(p.active, true);
  assert.deepEqual(p.lines([view()]), [
    'web/site: rollout to spec 5e6f7a8b (site:v2) started from spec 1a2b3c4d (site:v1)',
    'web/site#2 (surge) placed on h2 with spec 5e6f7a8b',
  ]);
  const more = view({ events: [...view().events, { at: '2030-01-01T10:00:05.000Z', text: 'draining site#0 on h0' }] });
  assert.deepEqual(p.lines([more]), ['web/site: draining site#0 on h0']);
  assert.equal(p.done([more]), false);
  assert.equal(p.failed([more]), undefined);
  const reason = 'site: rolled back to spec 1a2b3c4d: 9 of 30 requests to spec 5e6f7a8b failed (30%, more than 10%)';
  assert.equal(p.failed([view({ state: 'rolled-back', reason })]), reason);
  assert.equal(p.done([view({ state: 'complete' })]), true);
  // a record whose target is another spec (a later apply) is not this apply's
  assert.equal(p.done([view({ to: { specHash: 'ffff', image: 'site:v3' } })]), true);
  assert.equal(new RolloutProgress({ diff: [{ service: 'site', change: 'scale', details: [] }], services: [{ service: 'site', specHash: 'x' }] }).active, false);
});
