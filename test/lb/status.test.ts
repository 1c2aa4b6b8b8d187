import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lbFigures, lbStatusOf } from '../../src/lb/status.js';
import { lbRows } from '../../src/cli/commands/lb/status.js';
import type { LbHostState, LbServerState } from '../../src/lb/model.js';
import { inRotationEverywhere } from '../../src/lb/model.js';

const srv = (jail: string, status: string, requests: number, errors = 0): LbServerState => ({ jail, addr: '10.77.0.2:8080', status, inRotation: status === 'UP', sessions: 0, requests, errors });
const state = (host: string, servers: LbServerState[]): LbHostState => ({
  host, haproxy: 'running', message: null, vipHeld: host === 'h0', at: '2026-01-01T00:00:00Z',
  backends: [{ stack: 'shop', service: 'web', backend: 'shop.web', servers }],
});

test('lb status: every known host, unknown without a record; figures summed over hosts', () => {
  const states = new Map([
    ['h0', state('h0', [srv('shop.web.1', 'UP', 10), srv('shop.web.2', 'UP', 12, 1)])],
    ['h1', state('h1', [srv('shop.web.1', 'UP', 5), srv('shop.web.2', 'DOWN', 0)])],
  ]);
  const st = lbStatusOf(undefined, states, ['h0', 'h1', 'h2'], new Set(['h0', 'h1']));
  assert.equal(st.http, 80);
  assert.deepEqual(st.hosts.map((h) => [h.host, h.haproxy, h.message]), [['h0', 'running', null], ['h1', 'running', null], ['h2', 'unknown', 'host down']]);
  assert.equal(lbFigures(st, 'shop.web'), 'in rotation 1/2 on h0 h1, 27 requests, 1 errors');
  assert.equal(lbFigures(st, 'shop.db'), undefined);
  assert.deepEqual(lbRows(st).map((r) => r.slice(0, 6)), [
    ['h0 (vip)', 'running', 'shop.web', 'shop.web.1', '10.77.0.2:8080', 'UP'],
    ['h0 (vip)', 'running', 'shop.web', 'shop.web.2', '10.77.0.2:8080', 'UP'],
    ['h1', 'running', 'shop.web', 'shop.web.1', '10.77.0.2:8080', 'UP'],
    ['h1', 'running', 'shop.web', 'shop.web.2', '10.77.0.2:8080', 'DOWN'],
    ['h2', 'unknown: host down', '-', '-', '-', '-'],
  ]);
  assert.ok(inRotationEverywhere('shop.web.1', [...states.values()], ['h0', 'h1']));
  assert.ok(!inRotationEverywhere('shop.web.2', [...states.values()], ['h0', 'h1']));
});
