/**
 * The OCI runtime config (config.json) of a jail (pure: the same spec and host give the same
 * object, byte for byte once serialized). runc runs it; nothing else reads it.
 *
 * Layout inside the jail:
 *   /            the bundle's skeleton rootfs, read-only (root.readonly), holding only
 *                mount points and, on merged-/usr hosts, the symlinks bin -> usr/bin etc.
 *   /usr         the host's /usr, read-only, nosuid, nodev
 *   /bin ...     on hosts without merged /usr: the host's dirs, read-only
 *   /etc         the host's /etc, read-only, nosuid, nodev, noexec, with over it, read-only:
 *                masks over what the host keeps from other users (etc-mask.ts: BUNDLE/masked,
 *                an empty file, or an empty tmpfs), BUNDLE/etc/{hostname,hosts,resolv.conf}
 *                (etc.ts; passwd and group too when the jail's user is not the host's), and
 *                the spec's `etc` entries from the image
 *   /app         the image, read-only
 *   /tmp, /var   WRITABLE/tmp, WRITABLE/var
 *   --rw DIR     WRITABLE/DIR (unless DIR is under /tmp, /var or another --rw dir, which
 *                already makes it writable)
 * Writes anywhere else fail with EROFS.
 */
import type { JailSpec } from './model.js';
import { jailNames } from './naming.js';
import { buildSeccompProfile, type SeccompArch, type SeccompProfile } from './seccomp.js';
import { imageOverlays, JAIL_OWN_ETC } from './etc-spec.js';
import type { EtcMask } from './etc-mask.js';

/** What a jail sees of /etc beyond the host's, found when the bundle is written (etc-view.ts). */
export interface EtcView {
  /** The host's /etc, bound read-only at /etc ("/etc" except in tests). */
  hostEtc: string;
  /** Names of the files in BUNDLE/etc, each laid over /etc/NAME. */
  own: string[];
  /** Paths under /etc to mask: an empty read-only file (BUNDLE/masked) or tmpfs over each. */
  masked: EtcMask[];
}

/** The view when nothing is known of the host: only the files every jail gets, nothing masked. */
export const OWN_ETC_ONLY: EtcView = { hostEtc: '/etc', own: [...JAIL_OWN_ETC], masked: [] };

export interface HostInfo {
  arch: SeccompArch;
  /** /bin, /sbin, /lib* are symlinks into /usr (lstat says so). */
  usrMerged: boolean;
  /** Top-level dirs to bind read-only from the host when /usr is not merged (e.g. bin, sbin, lib, lib64). */
  hostRootDirs: readonly string[];
  /** runc writes the same resources to v1 controllers or the v2 unified tree; recorded for probes and messages. */
  cgroupVersion: 1 | 2;
  /** The kernel supports cgroup namespaces (4.6+). */
  cgroupNamespace: boolean;
  /** memory+swap can be limited (cgroup v1 memsw files exist, or cgroup v2 memory.swap.max). */
  swapAccounting: boolean;
  /**
   * A minimal init (tini) under /usr, so visible in every jail, run as the jail's PID 1: it
   * forwards signals to the command (a program as PID 1 ignores SIGTERM unless it installs a
   * handler, so `jail stop` would always wait for SIGKILL) and reaps orphaned zombies.
   */
  init?: string;
}

export const JAIL_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
export const CPU_PERIOD_US = 100_000;
/** Writable in every jail, from the writable dataset. */
export const WRITABLE_DIRS = ['/tmp', '/var'];

/**
 * Capabilities of a jail whose process runs as root (uid 0):
 * - CHOWN, DAC_OVERRIDE, FOWNER, FSETID: root manages files in its own writable dirs (e.g. an
 *   entrypoint that chowns a data dir before dropping privileges). Writes stay confined to
 *   the writable dirs by the read-only mounts.
 * - SETUID, SETGID: servers that start as root and drop to a user (postgres, nginx workers).
 * - KILL: signal the jail's processes of other users (the pid namespace confines it).
 * - NET_BIND_SERVICE: listen on ports below 1024 of the jail's own address.
 * Left out on purpose: NET_RAW (ARP/ICMP spoofing on the shared bridge), NET_ADMIN,
 * SYS_ADMIN, SYS_MODULE, SYS_PTRACE, SYS_RAWIO, MKNOD, SYS_CHROOT (no server needs it; it
 * helps escapes), SETPCAP, SETFCAP, AUDIT_WRITE (only PAM logins use it), SYS_TIME, SYS_BOOT.
 * A jail running as another user gets none effective (as with Docker): the set is only its
 * bounding set.
 */
export const JAIL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_NET_BIND_SERVICE', 'CAP_SETGID', 'CAP_SETUID',
];

/** As runc's and Docker's defaults: kernel state readable in /proc and /sys that leaks host information. */
export const MASKED_PATHS = [
  '/proc/acpi', '/proc/asound', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/sched_debug', '/proc/scsi', '/proc/timer_list', '/proc/timer_stats',
  '/sys/devices/virtual/powercap', '/sys/firmware',
];
/**
 * Kernel knobs in /proc, bound read-only over themselves (runc's and Docker's defaults), and
 * /sys/fs/cgroup: on cgroup v1, runc 1.1.5 mounts a tmpfs there to hold the controller mounts
 * and leaves that tmpfs writable even though the cgroup mount is `ro` (a jail's root could
 * create files next to its cgroups); binding it read-only over itself closes it. The
 * controller mounts below it are read-only already (and stay so in the recursive bind).
 */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger', '/sys/fs/cgroup'];

export interface OciMount { destination: string; type: string; source: string; options: string[] }

/**
 * Read-only binds are not recursive: runc remounts only the top mount read-only, so a
 * submount (say a separate /usr/local) would stay writable. Writable binds are recursive.
 */
function bind(destination: string, source: string, writable: boolean, extra: string[] = []): OciMount {
  return { destination, type: 'bind', source, options: [writable ? 'rbind' : 'bind', writable ? 'rw' : 'ro', 'nosuid', 'nodev', ...extra] };
}

/** The kernel filesystems every Linux process expects, as in runc's default spec. */
function kernelMounts(): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    {
      destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
    },
  ];
}

/** --rw dirs that need a mount of their own: not under /tmp, /var or an earlier --rw dir. */
export function rwMountDirs(rw: readonly string[]): string[] {
  const covered = [...WRITABLE_DIRS];
  const out: string[] = [];
  for (const d of [...rw].sort()) {
    if (covered.some((c) => d === c || d.startsWith(`${c}/`))) continue;
    covered.push(d);
    out.push(d);
  }
  return out;
}

/**
 * The host's /etc read-only, then what is laid over it, read-only too: the jail's own files
 * and the spec's files from the image. runc 1.1.5 has no recursive read-only ("rro"), so the
 * bind is not recursive: a host mount below /etc does not come along (its mount point's own
 * content shows instead), and nothing writable can. A file laid over must exist on the host:
 * runc cannot create a mount point in a read-only /etc (etc-view.ts checks first).
 */
export function etcMounts(spec: JailSpec, bundleDir: string, view: EtcView): OciMount[] {
  const image = imageOverlays(spec.etc).map(([p, src]) => bind(`/etc/${p}`, `${spec.imagePath}${src.slice('/app'.length)}`, false, ['noexec']));
  const masks = view.masked.map((m): OciMount => (m.dir
    ? { destination: m.path, type: 'tmpfs', source: 'tmpfs', options: ['ro', 'nosuid', 'nodev', 'noexec', 'size=4k', 'mode=0555'] }
    : bind(m.path, `${bundleDir}/masked`, false, ['noexec'])));
  return [
    bind('/etc', view.hostEtc, false, ['noexec']),
    ...masks,
    ...[...view.own].sort().map((n) => bind(`/etc/${n}`, `${bundleDir}/etc/${n}`, false, ['noexec'])),
    ...image,
  ];
}

/** Every mount of the jail, in the order runc must make them (parents before children). */
export function jailMounts(spec: JailSpec, host: HostInfo, bundleDir: string, view: EtcView = OWN_ETC_ONLY): OciMount[] {
  const w = spec.writablePath;
  const os: OciMount[] = [bind('/usr', '/usr', false)];
  if (!host.usrMerged) for (const d of host.hostRootDirs) os.push(bind(`/${d}`, `/${d}`, false));
  return [
    ...kernelMounts(),
    ...os,
    ...etcMounts(spec, bundleDir, view),
    bind('/app', spec.imagePath, false),
    ...WRITABLE_DIRS.map((d) => bind(d, `${w}${d}`, true)),
    ...rwMountDirs(spec.rw).map((d) => bind(d, `${w}${d}`, true)),
  ];
}

export function jailEnv(spec: JailSpec): string[] {
  const env = [`PATH=${spec.env.PATH ?? JAIL_PATH}`];
  for (const [k, v] of Object.entries(spec.env)) if (k !== 'PATH') env.push(`${k}=${v}`);
  return env;
}

function resources(spec: JailSpec, host: HostInfo): Record<string, unknown> {
  const r: Record<string, unknown> = {
    // deny every device; runc appends its allow list (null, zero, full, random, urandom, tty, ptmx, pts)
    devices: [{ allow: false, access: 'rwm' }],
    pids: { limit: spec.pids },
  };
  if (spec.memoryBytes !== undefined) {
    // swap equal to the limit: memory+swap may not exceed the limit, i.e. no swap at all
    r.memory = host.swapAccounting ? { limit: spec.memoryBytes, swap: spec.memoryBytes } : { limit: spec.memoryBytes };
  }
  if (spec.cpus !== undefined) r.cpu = { quota: Math.round(spec.cpus * CPU_PERIOD_US), period: CPU_PERIOD_US };
  return r;
}

export interface OciConfig {
  ociVersion: string;
  process: Record<string, unknown>;
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  annotations: Record<string, string>;
  linux: {
    namespaces: { type: string; path?: string }[];
    cgroupsPath: string;
    resources: Record<string, unknown>;
    seccomp: SeccompProfile;
    maskedPaths: string[];
    readonlyPaths: string[];
  };
}

/**
 * config.json of a jail whose bundle is `bundleDir` (rootfs at bundleDir/rootfs, its own /etc
 * files at bundleDir/etc); `view` says which of those exist and what of the host's /etc to mask.
 */
export function buildOciConfig(spec: JailSpec, host: HostInfo, bundleDir: string, view: EtcView): OciConfig {
  const names = jailNames(spec.instance, spec.name);
  const caps = [...JAIL_CAPABILITIES];
  const effective = spec.user.uid === 0 ? caps : [];
  const namespaces: { type: string; path?: string }[] = [
    { type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' },
    { type: 'network', path: spec.netnsPath },
  ];
  if (host.cgroupNamespace) namespaces.push({ type: 'cgroup' });
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: spec.user.uid, gid: spec.user.gid },
      args: host.init ? [host.init, '--', ...spec.command] : [...spec.command],
      env: jailEnv(spec),
      cwd: '/app',
      capabilities: { bounding: caps, effective, permitted: effective, inheritable: [], ambient: [] },
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: spec.hostname,
    mounts: jailMounts(spec, host, bundleDir, view),
    annotations: {
      'org.cellblock.instance': spec.instance,
      'org.cellblock.jail': spec.name,
      'org.cellblock.image': `${spec.image.name}:${spec.image.tag}`,
      'org.cellblock.restart': spec.restart,
    },
    linux: {
      namespaces,
      cgroupsPath: names.cgroupsPath,
      resources: resources(spec, host),
      seccomp: buildSeccompProfile(host.arch),
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
    },
  };
}
