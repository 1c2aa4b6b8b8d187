/**
 * What a host needs, as data, and a pure evaluation of gathered facts against it
 * (`cellblock host check`). Facts are gathered elsewhere (host-facts.ts) so the
 * evaluation can be tested with any facts at all.
 *
 * `required` marks the storage + jail core (pools, datasets, send/receive, jails):
 * without it cellblock cannot run a single jail. The rest is needed by the full system
 * (cluster state, load balancing, databases) and can be installed later.
 */
import { evaluateOsView, type OsViewFacts } from './os-view-checks.js';

/** What a requirement is needed for; 'core' is storage + jails (the required part). */
export type NeededFor = 'core' | 'cluster' | 'lb' | 'db' | 'optional';

export interface ToolRequirement {
  /** Executable name looked up on PATH (plus /usr/sbin and /sbin). */
  name: string;
  /** Debian package that provides it. */
  pkg: string;
  neededFor: NeededFor;
  /** Arguments that make the tool print its version (first line of stdout or stderr). */
  versionArgs: string[];
  /**
   * Where the tool lives when it is not on PATH: `<root>/<version>/<suffix>`, newest
   * version first. Debian keeps the PostgreSQL server at /usr/lib/postgresql/15/bin/postgres.
   */
  versioned?: { root: string; suffix: string };
}

export const TOOLS: readonly ToolRequirement[] = [
  { name: 'runc', pkg: 'runc', neededFor: 'core', versionArgs: ['--version'] },
  { name: 'conmon', pkg: 'conmon', neededFor: 'core', versionArgs: ['--version'] },
  { name: 'tini', pkg: 'tini', neededFor: 'core', versionArgs: ['--version'] },
  { name: 'btrfs', pkg: 'btrfs-progs', neededFor: 'core', versionArgs: ['--version'] },
  { name: 'mkfs.btrfs', pkg: 'btrfs-progs', neededFor: 'core', versionArgs: ['--version'] },
  { name: 'ip', pkg: 'iproute2', neededFor: 'core', versionArgs: ['-V'] },
  { name: 'rsync', pkg: 'rsync', neededFor: 'core', versionArgs: ['--version'] },
  // image build lists hard-link groups (storage/images/links.ts)
  { name: 'find', pkg: 'findutils', neededFor: 'core', versionArgs: ['--version'] },
  { name: 'tar', pkg: 'tar', neededFor: 'core', versionArgs: ['--version'] },
  { name: 'losetup', pkg: 'util-linux', neededFor: 'core', versionArgs: ['--version'] },
  { name: 'mount', pkg: 'mount', neededFor: 'core', versionArgs: ['--version'] },
  { name: 'nsenter', pkg: 'util-linux', neededFor: 'core', versionArgs: ['--version'] },
  // every agent keeps its desired and observed state in etcd (a one-member etcd on a single host)
  { name: 'etcd', pkg: 'etcd-server', neededFor: 'core', versionArgs: ['--version'] },
  { name: 'etcdctl', pkg: 'etcd-client', neededFor: 'cluster', versionArgs: ['version'] },
  { name: 'openssl', pkg: 'openssl', neededFor: 'cluster', versionArgs: ['version'] },
  { name: 'haproxy', pkg: 'haproxy', neededFor: 'lb', versionArgs: ['-v'] },
  { name: 'keepalived', pkg: 'keepalived', neededFor: 'lb', versionArgs: ['--version'] },
  { name: 'patroni', pkg: 'patroni', neededFor: 'db', versionArgs: ['--version'] },
  {
    name: 'postgres', pkg: 'postgresql', neededFor: 'db', versionArgs: ['--version'],
    versioned: { root: '/usr/lib/postgresql', suffix: 'bin/postgres' },
  },
];

/** cgroup controllers a jail's limits use (memory, cpu, pids). */
export const CGROUP_CONTROLLERS = ['memory', 'cpu', 'pids'] as const;
/** Namespaces every jail uses. */
export const CORE_NAMESPACES = ['net', 'pid', 'mnt', 'uts', 'ipc'] as const;
/** Namespaces for user-namespaced jails and a private cgroup view; not needed by root jails. */
export const EXTRA_NAMESPACES = ['user', 'cgroup'] as const;

/** Everything host check looks at, gathered by host-facts.ts (or written by a test). */
export interface HostFacts {
  /** The host's OS as jails see it; absent when the fact source does not look (test fakes). */
  osView?: OsViewFacts;
  /** Tool name -> where it was found (absolute path) and its version line, or null if absent. */
  tools: Record<string, { path: string; version?: string } | null>;
  kernelRelease: string;
  /** Filesystem types of /proc/filesystems. */
  filesystems: string[];
  /** Kernel module names (without .ko*) found under /lib/modules/<release>, limited to those asked for. */
  modules: string[];
  /** Entries of /proc/self/ns. */
  namespaces: string[];
  cgroup: {
    /** Controllers in /sys/fs/cgroup/cgroup.controllers when / is cgroup v2, else null. */
    v2: string[] | null;
    /** Controllers of cgroup v1 hierarchies mounted (from /proc/self/mountinfo). */
    v1: string[];
  };
  loopControl: boolean;
}

export interface CheckResult {
  name: string;
  /**
   * os: how the host's OS serves jails (os-view-checks.ts): never missing, at most a warning.
   * pool: what a pool of this host can enforce (storage/checks.ts): at most a warning.
   */
  kind: 'tool' | 'kernel' | 'os' | 'pool';
  /** Part of the storage + jail core (see neededFor). */
  required: boolean;
  neededFor: NeededFor;
  status: 'present' | 'missing' | 'warning';
  /** Path and version of a tool; what was found for a kernel feature. */
  detail: string;
  /** What to do when missing; '' when present. */
  fix: string;
  /** Debian package providing a missing tool. */
  pkg?: string;
}

export function toolFix(pkg: string): string {
  return `apt-get install -y ${pkg} (or: cellblock host bootstrap)`;
}

function evaluateTool(t: ToolRequirement, facts: HostFacts): CheckResult {
  const found = facts.tools[t.name] ?? null;
  const base = { name: t.name, kind: 'tool' as const, required: t.neededFor === 'core', neededFor: t.neededFor, pkg: t.pkg };
  if (!found) {
    const where = t.versioned ? `not on PATH nor at ${t.versioned.root}/<version>/${t.versioned.suffix}` : 'not on PATH';
    return { ...base, status: 'missing', detail: where, fix: toolFix(t.pkg) };
  }
  return { ...base, status: 'present', detail: found.version ? `${found.path} (${found.version})` : found.path, fix: '' };
}

function kernel(name: string, neededFor: NeededFor, ok: boolean, detail: string, fix: string): CheckResult {
  return { name, kind: 'kernel', required: neededFor === 'core', neededFor, status: ok ? 'present' : 'missing', detail, fix: ok ? '' : fix };
}

/** A filesystem the kernel has, or can load as a module on first mount; named NAME-fs (the tool may share the name). */
function filesystem(name: string, facts: HostFacts, neededFor: NeededFor, fix: string): CheckResult {
  const loaded = facts.filesystems.includes(name);
  const module = facts.modules.includes(name);
  const detail = loaded ? 'in /proc/filesystems' : module ? `module ${name} available for ${facts.kernelRelease}` : `not in /proc/filesystems, no ${name} module for ${facts.kernelRelease}`;
  return kernel(`${name}-fs`, neededFor, loaded || module, detail, fix);
}

function namespaces(name: string, wanted: readonly string[], facts: HostFacts, neededFor: NeededFor, fix: string): CheckResult {
  const missing = wanted.filter((n) => !facts.namespaces.includes(n));
  const detail = missing.length ? `missing: ${missing.join(', ')}` : wanted.join(', ');
  return kernel(name, neededFor, missing.length === 0, detail, fix);
}

function cgroups(facts: HostFacts): CheckResult {
  const fix = `the kernel needs cgroup controllers ${CGROUP_CONTROLLERS.join(', ')}: boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1) or mount the v1 hierarchies`;
  const { v2, v1 } = facts.cgroup;
  const have = v2 ?? v1;
  const missing = CGROUP_CONTROLLERS.filter((c) => !have.includes(c));
  const version = v2 ? 'v2' : v1.length ? 'v1' : 'none mounted';
  const detail = missing.length ? `${version}: missing ${missing.join(', ')}` : `${version}: ${CGROUP_CONTROLLERS.join(', ')}`;
  return kernel('cgroups', 'core', missing.length === 0, detail, fix);
}

/** Evaluates gathered facts against the requirements: one result per tool, then the kernel features. */
export function evaluateHost(facts: HostFacts): CheckResult[] {
  return [
    ...TOOLS.map((t) => evaluateTool(t, facts)),
    filesystem('btrfs', facts, 'core', 'this kernel has no btrfs: use a kernel with btrfs, or make pools with --driver dir (full copies) or --driver zfs'),
    filesystem('overlay', facts, 'optional', 'optional: no overlay filesystem in this kernel; cellblock does not need it for jails'),
    namespaces('namespaces', CORE_NAMESPACES, facts, 'core', 'jails need net, pid, mnt, uts and ipc namespaces: use a kernel built with CONFIG_NAMESPACES and all of them'),
    namespaces('namespaces-extra', EXTRA_NAMESPACES, facts, 'optional', 'optional: user and cgroup namespaces are needed only for user-namespaced jails'),
    cgroups(facts),
    kernel('loop', 'core', facts.loopControl, facts.loopControl ? '/dev/loop-control' : 'no /dev/loop-control', 'the default pool is a btrfs loop file: load the loop module (modprobe loop), or give pools an existing mount with --path'),
    ...(facts.osView ? evaluateOsView(facts.osView) : []),
  ];
}

/** Results that stop the core from working. */
export function missingRequired(results: readonly CheckResult[]): CheckResult[] {
  return results.filter((r) => r.required && r.status === 'missing');
}

/** Parses /proc/filesystems: "nodev\toverlay" / "\tbtrfs" -> filesystem types. */
export function parseFilesystems(text: string): string[] {
  return text.split('\n').map((l) => l.trim().split(/\s+/).pop() ?? '').filter(Boolean);
}

/** cgroup v1 controller names, to tell them apart from other options of a cgroup mount. */
const V1_CONTROLLERS = new Set(['cpuset', 'cpu', 'cpuacct', 'blkio', 'io', 'memory', 'devices', 'freezer', 'net_cls', 'perf_event', 'net_prio', 'hugetlb', 'pids', 'rdma', 'misc']);

/**
 * cgroup v1 controllers mounted, from /proc/self/mountinfo (after " - " come fstype,
 * source and super options; the controllers are super options such as "rw,cpu,cpuacct")
 * or, as a fallback, /proc/mounts (fstype is field 3, options field 4).
 */
export function parseCgroupV1Controllers(text: string): string[] {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    const fields = sep >= 0 ? line.slice(sep + 3).split(' ') : line.split(' ').slice(2);
    const [fstype, , opts] = sep >= 0 ? fields : [fields[0], undefined, fields[1]];
    if (fstype !== 'cgroup') continue;
    for (const o of (opts ?? '').split(',')) if (V1_CONTROLLERS.has(o)) out.add(o);
  }
  return [...out].sort();
}

/** Module names (btrfs, overlay) from file names like btrfs.ko, btrfs.ko.xz, btrfs.ko.zst. */
export function moduleNames(files: readonly string[]): string[] {
  return [...new Set(files.map((f) => /^([^.]+)\.ko(\.[a-z0-9]+)?$/.exec(f)?.[1]).filter((m): m is string => Boolean(m)))].sort();
}
