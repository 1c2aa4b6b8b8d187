/**
 * Integration: from inside real jails, the host is out of reach: its processes, the agent's
 * unix socket (by path, through /proc/1/root, or in the abstract namespace), its network
 * devices, the jail's own address and routes, and raw sockets on the bridge. Each attempt is
 * its own test with the exact error, and a host control where the mechanism itself works.
 * Two jails run `sleep infinity`: `root` (uid 0) and `app` (uid 1000).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdir, readFile, stat } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { exec } from '../../src/sys/exec.js';
import { addrShow, ip, linkShow, parseAddrShow, parseLinkShow } from '../../src/jail/net.js';
import { formatIPv4 } from '../../src/jail/ipam.js';
import { JailLab, jailSkipReason, type RunningJail } from '../helpers/jail-harness.js';
import { ECONNREFUSED, ENOENT, EPERM, inJail, onHost } from '../helpers/jail-probes.js';

const skip = await jailSkipReason();
const SLEEP = ['/usr/bin/sleep', 'infinity'];
let lab: JailLab | undefined;
let root: RunningJail;
let app: RunningJail;
const servers: Server[] = [];

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((c) => c.end('hello from the agent\n'));
    s.once('error', reject);
    s.listen(path, () => { servers.push(s); resolve(s); });
  });
}

function connectOnHost(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    const c = createConnection(path);
    c.on('data', (d) => { data += d.toString(); });
    c.on('end', () => resolve(data));
    c.on('error', reject);
  });
}

/** python: errno of connecting a unix socket to each of sys.argv[1:] (0 = connected); "@name" is abstract. */
const CONNECT_ALL = [
  'def conn(p):',
  '    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
  '    addr = "\\0" + p[1:] if p.startswith("@") else p',
  '    try:',
  '        s.connect(addr); return 0',
  '    except OSError as e:',
  '        return e.errno',
  '    finally:',
  '        s.close()',
  'out = {p: conn(p) for p in sys.argv[1:]}',
];

before(async () => {
  if (skip) return;
  lab = await JailLab.open('cbreach-');
  root = await lab.start({ name: 'root', command: SLEEP });
  app = await lab.start({ name: 'app', user: '1000:1000', command: SLEEP });
});

after(async () => {
  for (const s of servers) s.close();
  await lab?.teardown();
});

/** The jail's processes, pid 1 first: the jail's init (tini, when the host has it) and the command. */
async function jailProcesses(): Promise<string[][]> {
  const init = (await lab!.hostInfo()).init;
  return init ? [[init, '--', ...SLEEP], SLEEP] : [SLEEP];
}

test('/proc inside shows only the jail\'s own processes; pid 1 runs the jail command', { skip }, async () => {
  const res = await inJail(root, [
    'me = os.getpid()',
    'pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != me)',
    'out["others"] = [open("/proc/%d/cmdline" % p, "rb").read().decode().split("\\0")[:-1] for p in pids]',
    'out["pid1"] = pids[0]',
    'out["runner_visible"] = int(sys.argv[1]) in pids',
  ], [String(process.pid)]);
  assert.deepEqual(res, { others: await jailProcesses(), pid1: 1, runner_visible: false }, 'the jail\'s processes and the probe, nothing else');
  // control: the host sees the test runner and the jail's pid 1 (under its host PID)
  await access(`/proc/${process.pid}`);
  assert.deepEqual((await readFile(`/proc/${root.pid}/cmdline`, 'utf8')).split('\0').slice(0, -1), (await jailProcesses())[0]);
});

test('ps inside lists pid 1 (running the jail command), the command and itself', { skip }, async () => {
  const lines = (await root.exec(['/usr/bin/ps', '-eo', 'pid,args'])).stdout.trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
  const procs = await jailProcesses();
  assert.equal(lines.length, procs.length + 2, lines.join('\n'));
  assert.equal(lines[0], 'PID COMMAND');
  assert.equal(lines[1], `1 ${procs[0]!.join(' ')}`);
  if (procs[1]) assert.match(lines[2]!, new RegExp(`^\\d+ ${procs[1].join(' ')}$`));
  assert.match(lines.at(-1)!, /^\d+ \/usr\/bin\/ps -eo pid,args$/);
});

test('the agent socket (DATA_DIR/run/agent.sock) has no path inside, not even through /proc/1/root', { skip }, async () => {
  const runDir = join(lab!.dataDir, 'run');
  await mkdir(runDir, { mode: 0o700 });
  const sock = join(runDir, 'agent.sock'); // where the agent listens (src/api/socket.ts)
  await listen(sock);
  assert.equal(await connectOnHost(sock), 'hello from the agent\n', 'control: the host connects');
  const paths = [sock, `/proc/1/root${sock}`, `/proc/self/root${sock}`, `/proc/1/cwd/..${sock}`];
  for (const j of [root, app]) {
    const res = await inJail(j, CONNECT_ALL, paths);
    assert.deepEqual(res, Object.fromEntries(paths.map((p) => [p, ENOENT])), j.names.jail);
  }
  const found = await root.exec(['/usr/bin/find', '/', '(', '-path', '/proc', '-o', '-path', '/sys', ')', '-prune', '-o', '-type', 's', '-print'], { timeoutMs: 60_000 });
  assert.equal(found.stdout, '', 'no unix socket anywhere in the jail\'s file tree');
});

test('/proc/1/root, /.. and /proc/self/root/.. all lead back to the jail\'s own root', { skip }, async () => {
  const res = await inJail(root, [
    'key = lambda p: (os.stat(p).st_dev, os.stat(p).st_ino)',
    'out["same_as_root"] = [key(p) == key("/") for p in ("/proc/1/root/", "/..", "/proc/self/root/..", "/proc/1/root/../..")]',
    'out["root_link"] = os.readlink("/proc/1/root")',
    'out["cwd_link"] = os.readlink("/proc/1/cwd")',
    'out["listing_same"] = sorted(os.listdir("/proc/1/root")) == sorted(os.listdir("/"))',
    'out["host_data_dir"] = os.path.exists("/proc/1/root" + sys.argv[1])',
  ], [lab!.dataDir]);
  assert.deepEqual(res, { same_as_root: [true, true, true, true], root_link: '/', cwd_link: '/app', listing_same: true, host_data_dir: false });
  // control: from the host, the jail's root is the bundle's rootfs
  const [a, b] = [await stat(`/proc/${root.pid}/root/`), await stat(join(root.bundleDir, 'rootfs'))];
  assert.deepEqual([a.dev, a.ino], [b.dev, b.ino]);
});

test('a unix socket in the host\'s abstract namespace is out of reach (ECONNREFUSED)', { skip }, async () => {
  const name = `cellblock-test-${lab!.instance}`;
  await listen(`\0${name}`);
  assert.equal(await connectOnHost(`\0${name}`), 'hello from the agent\n', 'control: the host connects');
  for (const j of [root, app]) assert.deepEqual(await inJail(j, CONNECT_ALL, [`@${name}`]), { [`@${name}`]: ECONNREFUSED }, j.names.jail);
});

test('the jail sees no host network device: only lo and eth0', { skip }, async () => {
  const links = JSON.parse((await root.exec(['ip', '-j', 'link', 'show'])).stdout) as { ifname: string }[];
  assert.deepEqual(links.map((l) => l.ifname).sort(), ['eth0', 'lo']);
});

test('ip addr add on eth0 fails with "Operation not permitted" (the host can, in the jail\'s netns)', { skip }, async () => {
  const other = formatIPv4(lab!.subnet.network + 250);
  const ns = root.names.netns;
  for (const j of [root, app]) {
    const r = await j.run(['ip', 'addr', 'add', `${other}/24`, 'dev', 'eth0']);
    assert.equal(r.code, 2, `${j.names.jail}: ${r.stderr}`);
    assert.equal(r.stderr.trim(), 'RTNETLINK answers: Operation not permitted', j.names.jail);
  }
  assert.deepEqual(parseAddrShow((await exec(addrShow('eth0', ns))).stdout), [`${root.ip}/24`], 'the address is unchanged');
  await exec(ip(ns, 'addr', 'add', `${other}/32`, 'dev', 'eth0'));
  try {
    assert.ok(parseAddrShow((await exec(addrShow('eth0', ns))).stdout).includes(`${other}/32`), 'control: the host changes it');
  } finally {
    await exec(ip(ns, 'addr', 'del', `${other}/32`, 'dev', 'eth0'));
  }
});

test('ip link set eth0 down is refused; eth0 stays up', { skip }, async () => {
  for (const j of [root, app]) {
    const r = await j.run(['ip', 'link', 'set', 'eth0', 'down']);
    assert.equal(r.code, 2, `${j.names.jail}: ${r.stderr}`);
    assert.equal(r.stderr.trim(), 'RTNETLINK answers: Operation not permitted', j.names.jail);
    assert.equal(parseLinkShow((await exec(linkShow('eth0', j.names.netns))).stdout)?.up, true, j.names.jail);
  }
});

test('replacing the default route is refused', { skip }, async () => {
  const r = await root.run(['ip', 'route', 'replace', 'default', 'via', formatIPv4(lab!.subnet.network + 250)]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trim(), 'RTNETLINK answers: Operation not permitted');
});

const RAW = [
  'def make(*a):',
  '    try:',
  '        socket.socket(*a).close(); return 0',
  '    except PermissionError as e:',
  '        return "PermissionError %d" % e.errno',
  '    except OSError as e:',
  '        return e.errno',
];

test('a raw ICMP socket fails with PermissionError (EPERM) (the host can)', { skip }, async () => {
  const probe = [...RAW, 'out["icmp"] = make(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)'];
  for (const j of [root, app]) assert.deepEqual(await inJail(j, probe), { icmp: `PermissionError ${EPERM}` }, j.names.jail);
  assert.deepEqual(await onHost(probe), { icmp: 0 });
});

test('an AF_PACKET socket fails with EPERM (the host can)', { skip }, async () => {
  const probe = [...RAW,
    'out["packet_raw"] = make(socket.AF_PACKET, socket.SOCK_RAW, 0)',
    'out["packet_dgram"] = make(socket.AF_PACKET, socket.SOCK_DGRAM, 0)',
  ];
  const refused = `PermissionError ${EPERM}`;
  for (const j of [root, app]) assert.deepEqual(await inJail(j, probe), { packet_raw: refused, packet_dgram: refused }, j.names.jail);
  assert.deepEqual(await onHost(probe), { packet_raw: 0, packet_dgram: 0 });
});
