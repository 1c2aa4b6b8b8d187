import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DesiredLb } from '../../src/lb/desired.js';
import type { StatRow } from '../../src/lb/haproxy-api.js';
import { enabledServers, planLb } from '../../src/lb/plan.js';

const desired = (servers: [name: string, addr: string, drain?: boolean][]): DesiredLb => ({
  http: 80, https: 443, certs: [],
  backends: [{
    stack: 's', service: 'web', backend: 's.web', mode: 'http', hosts: ['web.test'], check: { kind: 'tcp' },
    servers: servers.map(([name, addr, drain]) => ({ name, addr, port: 80, drain: drain === true })),
  }],
});
const row = (server: string, status: string, checkStatus = 'L4OK', addr = '10.0.0.2:80', proxy = 's.web'): StatRow =>
  ({ proxy, server, type: 2, status, scur: 0, stot: 0, econ: 0, eresp: 0, hrsp5xx: 0, checkStatus, addr });
const has = new Set(['s.web']);
const texts = (d: DesiredLb, rows: StatRow[]) => planLb(d, rows, has).actions.flatMap((a) => a.commands.map((c) => c.text));

test('a new server: added in maintenance, health on, drain (the gate)', () => {
  const p = planLb(desired([['s.web.1', '10.0.0.2']]), [], has);
  assert.deepEqual(p.actions.map((a) => a.kind), ['add']);
  assert.deepEqual(p.actions[0]!.commands.map((c) => c.text), [
    'add server s.web/s.web.1 10.0.0.2:80 check inter 500ms fastinter 250ms downinter 1s rise 2 fall 2 observe layer7 error-limit 3 on-error mark-down pool-max-conn -1 pool-purge-delay 5s',
    'enable health s.web/s.web.1',
    'set server s.web/s.web.1 state drain',
  ]);
  assert.equal(p.sentence, 'add s.web.1 to s.web (in drain until its first check passes)');
});

test('the gate: ready only once DRAIN with a passing check', () => {
  const d = desired([['s.web.1', '10.0.0.2']]);
  assert.deepEqual(texts(d, [row('s.web.1', 'DRAIN 1/2', 'INI')]), []);
  assert.deepEqual(texts(d, [row('s.web.1', 'DOWN', 'L4CON')]), []);
  assert.deepEqual(texts(d, [row('s.web.1', 'DRAIN', 'L4OK')]), ['set server s.web/s.web.1 state ready']);
  assert.deepEqual(texts(d, [row('s.web.1', 'UP')]), []);
  assert.deepEqual(texts(d, [row('s.web.1', 'MAINT', '')]), ['enable health s.web/s.web.1', 'set server s.web/s.web.1 state drain']);
});

test('drain follows the assignment; an UP server with drain is drained, a drained one stays', () => {
  const d = desired([['s.web.1', '10.0.0.2', true]]);
  assert.deepEqual(texts(d, [row('s.web.1', 'UP')]), ['set server s.web/s.web.1 state drain']);
  assert.deepEqual(texts(d, [row('s.web.1', 'DRAIN')]), []);
  assert.deepEqual(texts(d, [row('s.web.1', 'DOWN')]), ['set server s.web/s.web.1 state drain']);
});

test('a server no replica backs, or at another address, is removed (maint, del once it has no sessions)', () => {
  assert.deepEqual(texts(desired([]), [row('s.web.9', 'UP')]), ['set server s.web/s.web.9 state maint', 'del server s.web/s.web.9']);
  assert.deepEqual(texts(desired([]), [{ ...row('s.web.9', 'UP'), scur: 2 }]), ['set server s.web/s.web.9 state maint']);
  assert.deepEqual(texts(desired([]), [{ ...row('s.web.9', 'MAINT'), scur: 2 }]), []);
  assert.deepEqual(texts(desired([]), [row('s.web.9', 'MAINT')]), ['del server s.web/s.web.9']);
  assert.deepEqual(planLb(desired([['s.web.1', '10.0.0.7']]), [row('s.web.1', 'UP')], has).actions.map((a) => a.kind), ['remove']);
});

test('a backend HAProxy does not have yet is left to the reload', () => {
  assert.deepEqual(planLb(desired([['s.web.1', '10.0.0.2']]), [], new Set()).actions, []);
  assert.equal(planLb(desired([]), [], has).sentence, 'nothing to do');
});

test('enabled servers for a reload: in rotation, down, or drained after their check; not at the gate nor in maintenance', () => {
  const rows = [row('a', 'UP'), row('b', 'DOWN'), row('c', 'DRAIN', 'L4OK'), row('d', 'DRAIN 1/2', 'INI'), row('e', 'MAINT', '')];
  assert.deepEqual([...enabledServers(rows)].sort(), ['s.web/a', 's.web/b', 's.web/c']);
});
