import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRoutes, routeChanges, routeDelArgv, routeReplaceArgv, wantedRoutes, RouteSync } from '../../src/agent/routes.js';
import type { HostInfo } from '../../src/cluster/model.js';
import pino from 'pino';

const host = (name: string, n: number): HostInfo => ({ name, address: `192.0.2.${n}`, apiPort: 7480, subnet: `10.77.${n}.0/24`, joinedAt: '' });

describe('routes to the other hosts\' jails', () => {
  test('every other host\'s subnet via its address, sorted', () => {
    assert.deepEqual(wantedRoutes('b', [host('c', 3), host('a', 1), host('b', 2)]), [
      { subnet: '10.77.1.0/24', via: '192.0.2.1' },
      { subnet: '10.77.3.0/24', via: '192.0.2.3' },
    ]);
  });

  test('argv carry cellblock\'s own route protocol', () => {
    assert.deepEqual(routeReplaceArgv({ subnet: '10.77.1.0/24', via: '192.0.2.1' }), ['ip', 'route', 'replace', '10.77.1.0/24', 'via', '192.0.2.1', 'proto', '77']);
    assert.deepEqual(routeDelArgv('10.77.1.0/24'), ['ip', 'route', 'del', '10.77.1.0/24', 'proto', '77']);
  });

  test('parses ip -j route output (captured from iproute2 6.1)', () => {
    const out = '[{"dst":"10.225.2.0/24","gateway":"10.169.0.2","dev":"eth0","protocol":"77","flags":[]},{"dst":"10.169.0.0/24","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"10.169.0.1","flags":[]}]';
    assert.deepEqual(parseRoutes(out), [{ subnet: '10.225.2.0/24', via: '10.169.0.2' }]);
    assert.deepEqual(parseRoutes(''), []);
  });

  test('changes: replace what is new or moved, delete what is no longer wanted', () => {
    const have = [{ subnet: '10.77.1.0/24', via: '192.0.2.1' }, { subnet: '10.77.3.0/24', via: '192.0.2.9' }, { subnet: '10.77.4.0/24', via: '192.0.2.4' }];
    const want = [{ subnet: '10.77.1.0/24', via: '192.0.2.1' }, { subnet: '10.77.3.0/24', via: '192.0.2.3' }, { subnet: '10.77.5.0/24', via: '192.0.2.5' }];
    assert.deepEqual(routeChanges(have, want), {
      replace: [{ subnet: '10.77.3.0/24', via: '192.0.2.3' }, { subnet: '10.77.5.0/24', via: '192.0.2.5' }],
      remove: ['10.77.4.0/24'],
    });
  });

  test('sync runs exactly those commands, and turns forwarding on once another host exists', async () => {
    const ran: string[][] = [];
    const exec = async (argv: readonly string[]) => {
      ran.push([...argv]);
      return { stdout: argv.includes('-j') ? '[{"dst":"10.77.9.0/24","gateway":"192.0.2.9"}]' : '', stderr: '', exitCode: 0 };
    };
    const sync = new RouteSync(exec as never, pino({ level: 'silent' }));
    await sync.sync('a', [host('a', 1)]);
    assert.deepEqual(ran.map((a) => a.join(' ')), ['ip -j route show proto 77', 'ip route del 10.77.9.0/24 proto 77']);
    ran.length = 0;
    await sync.sync('a', [host('a', 1), host('b', 2)]);
    await sync.sync('a', [host('a', 1), host('b', 2)]);
    assert.deepEqual(ran.filter((a) => a[0] === 'sysctl').length, 1);
    assert.ok(ran.some((a) => a.join(' ') === 'ip route replace 10.77.2.0/24 via 192.0.2.2 proto 77'));
  });
});
