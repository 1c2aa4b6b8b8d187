/**
 * Integration: JailManager.changeSubnet with the real `ip`, in a network namespace of the
 * test's own (every `ip` command the manager runs is entered into it with nsenter), a dir
 * pool in a temporary data dir and a real image. Shows that a jail made after the change gets
 * an address in the new subnet and the bridge carries the new gateway, and that a change
 * while a jail exists is refused and changes nothing. after() removes the jail, the bridge,
 * the pool, the namespace and the data dir, each step even when an earlier one failed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { whichTool, type Exec } from '../../src/sys/exec.js';
import { UserError } from '../../src/sys/errors.js';
import type { JailManager } from '../../src/jail/manager.js';
import { nsManager, type NsManager } from '../helpers/ns-manager.js';
import { hostConfigPath, readHostConfig } from '../../src/jail/host-config.js';
import { leaseFilePath } from '../../src/jail/leases.js';
import { addrShow, linkShow, parseAddrShow, parseLinkShow } from '../../src/jail/net.js';

async function skipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (creates a network namespace and a bridge)';
  for (const t of ['ip', 'nsenter', 'rsync', 'cp', 'tar', 'chattr', 'runc']) if (!(await whichTool(t))) return `needs ${t} on PATH`;
  return undefined;
}

const skip = await skipReason();
const OLD = '10.231.201.0/24';
const NEW = '10.231.202.0/28';
let fx: NsManager | undefined;
let dataDir: string | undefined;
let m: JailManager | undefined;
let inNs: Exec;

before(async () => {
  if (skip) return;
  fx = await nsManager({ prefix: 'cbsubnet', subnet: OLD, pool: { driver: 'dir' } });
  ({ dataDir, m, inNs } = fx);
});

after(async () => {
  await fx?.teardown();
});

async function bridgeAddrs(bridge: string): Promise<string[] | undefined> {
  const link = await inNs(linkShow(bridge)).catch(() => undefined);
  if (!link || !parseLinkShow(link.stdout)) return undefined;
  return parseAddrShow((await inNs(addrShow(bridge))).stdout);
}

test('changeSubnet moves the bridge and the next jail to the new subnet; with a jail it refuses and changes nothing', { skip }, async () => {
  const mgr = m!;
  await mgr.open(); // the agent's start: makes the bridge with the old gateway
  const before0 = await readHostConfig(dataDir!);
  assert.equal(before0?.subnet, OLD);
  const bridge = before0!.bridge;
  assert.deepEqual(await bridgeAddrs(bridge), ['10.231.201.1/24']);

  await mgr.changeSubnet(NEW);
  assert.equal((await readHostConfig(dataDir!))?.subnet, NEW);
  assert.deepEqual(await bridgeAddrs(bridge), ['10.231.202.1/28'], 'the bridge has the new gateway and not the old one');
  await mgr.changeSubnet(NEW); // the same again: nothing changes
  assert.deepEqual(await bridgeAddrs(bridge), ['10.231.202.1/28']);

  const a = await mgr.create({ name: 'a', image: 'app:v1', command: ['/bin/true'] });
  assert.equal(a.ip, '10.231.202.2', 'the first jail after the change gets the first address of the new subnet');
  const b = await mgr.create({ name: 'b', image: 'app:v1', command: ['/bin/true'], ip: '10.231.202.9' });
  assert.equal(b.ip, '10.231.202.9');
  await assert.rejects(mgr.create({ name: 'c', image: 'app:v1', command: ['/bin/true'], ip: '10.231.201.7' }), UserError, 'an address of the old subnet is refused');

  const hostJson = await readFile(hostConfigPath(dataDir!), 'utf8');
  const leases = await readFile(leaseFilePath(dataDir!), 'utf8');
  await assert.rejects(mgr.changeSubnet('10.231.203.0/24'), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.equal(e.message, 'this host has jails (a, b); its jail subnet cannot change under them');
    assert.equal(e.fix, 'remove them first, or keep the subnet with --subnet');
    return true;
  });
  await assert.rejects(mgr.changeSubnet('10.231.203.1/24'), (e: unknown) => e instanceof UserError && /host bits set/.test(e.message), 'a bad CIDR is refused as --subnet refuses it');
  await assert.rejects(mgr.changeSubnet('10.231.203.0/31'), (e: unknown) => e instanceof UserError && /out of range/.test(e.message));
  assert.equal(await readFile(hostConfigPath(dataDir!), 'utf8'), hostJson, 'host.json is unchanged');
  assert.equal(await readFile(leaseFilePath(dataDir!), 'utf8'), leases, 'the leases are unchanged');
  assert.deepEqual(await bridgeAddrs(bridge), ['10.231.202.1/28'], 'the bridge is unchanged');
  await mgr.changeSubnet(NEW); // the subnet it has: fine with jails
  assert.deepEqual((await mgr.list()).map((j) => j.ip), ['10.231.202.2', '10.231.202.9']);

  // once the jails are gone it changes again, and the leases start over in the new subnet
  await mgr.remove('a');
  await mgr.remove('b');
  await mgr.changeSubnet(OLD);
  assert.deepEqual(await bridgeAddrs(bridge), ['10.231.201.1/24']);
  assert.equal((await mgr.create({ name: 'd', image: 'app:v1', command: ['/bin/true'] })).ip, '10.231.201.2');
});
