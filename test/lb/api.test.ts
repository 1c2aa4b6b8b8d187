import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { api, checkPassed, classifyAnswer, inRotation, parseServersState, parseShowStat, serverRows, serverState } from '../../src/lb/haproxy-api.js';

const fixture = (n: string) => readFileSync(fileURLToPath(new URL(`../../../test/fixtures/lb/${n}`, import.meta.url)), 'utf8');

test('show stat (captured from 2.6.12): servers, status, check, figures', () => {
  const rows = parseShowStat(fixture('show-stat-2.6.12.txt'));
  const servers = serverRows(rows);
  assert.deepEqual(servers.map((r) => [r.server, r.status, r.checkStatus, r.addr]), [
    ['shop.web.1', 'UP', 'L7OK', '127.0.0.1:18201'],
    ['shop.web.2', 'DOWN', 'L4CON', '127.0.0.1:18202'],
    ['shop.web.3', 'DRAIN', 'L7OK', '127.0.0.1:18201'],
    ['shop.web.4', 'MAINT', '', '127.0.0.1:18201'],
  ]);
  assert.deepEqual(rows.filter((r) => r.type === 1).map((r) => r.proxy), ['cellblock-unknown-host', 'shop.web']);
  assert.deepEqual(serverState(servers[0]!), { jail: 'shop.web.1', addr: '127.0.0.1:18201', status: 'UP', inRotation: true, sessions: 0, requests: 0, errors: 0 });
  assert.equal(serverState(servers[1]!).inRotation, false);
});

test('show servers state (captured from 2.6.12)', () => {
  const rows = parseServersState(fixture('show-servers-state-2.6.12.txt'));
  assert.deepEqual(rows.map((r) => [r.backend, r.server, r.addr, r.port, r.opState, r.adminState]), [
    ['shop.web', 'shop.web.1', '127.0.0.1', 18201, 2, 0],
    ['shop.web', 'shop.web.2', '127.0.0.1', 18202, 0, 0],
    ['shop.web', 'shop.web.3', '127.0.0.1', 18201, 2, 8],
    ['shop.web', 'shop.web.4', '127.0.0.1', 18201, 0, 1],
  ]);
});

test('rotation and checks as HAProxy words them', () => {
  assert.ok(inRotation('UP'));
  assert.ok(inRotation('UP 1/2'));
  for (const s of ['DOWN', 'DOWN 1/2', 'DRAIN', 'MAINT', 'NOLB', 'DRAIN 1/2']) assert.ok(!inRotation(s), s);
  assert.ok(checkPassed('L7OK') && checkPassed('L4OK') && checkPassed('L6OK'));
  assert.ok(!checkPassed('INI') && !checkPassed('L4CON') && !checkPassed('L7STS') && !checkPassed(''));
});

test('commands and the answers of 2.6.12', () => {
  assert.deepEqual(api.addServer('s.web', 's.web.1', ['10.0.0.2:80', 'check']), { text: 'add server s.web/s.web.1 10.0.0.2:80 check', ok: 'New server registered.' });
  assert.deepEqual(api.setState('s.web', 's.web.1', 'drain'), { text: 'set server s.web/s.web.1 state drain', ok: '' });
  assert.deepEqual(api.delServer('s.web', 's.web.1'), { text: 'del server s.web/s.web.1', ok: 'Server deleted.' });
  assert.equal(classifyAnswer('No such server.'), 'not-found');
  assert.equal(classifyAnswer('Only servers in maintenance mode can be deleted.'), 'busy');
  assert.equal(classifyAnswer('Server still has connections attached to it, cannot remove it.'), 'busy');
  assert.equal(classifyAnswer('Unknown command'), 'failed');
});
