/**
 * Gathers the facts `host check` evaluates (host-checks.ts). Read-only: it reads /proc,
 * /sys and /lib/modules, looks tools up on PATH and asks each found tool for its version.
 * Nothing is loaded (no modprobe) or mounted. Every read goes through a FactSource, so a
 * test can hand in any host it likes.
 */
import { access, constants, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { scanEtc } from '../jail/etc-scan.js';
import { OS_LINK_DIRS, type OsViewFacts } from './os-view-checks.js';
import { release } from 'node:os';
import { type Exec, whichTool } from './exec.js';
import {
  TOOLS, moduleNames, parseCgroupV1Controllers, parseFilesystems,
  type HostFacts, type ToolRequirement,
} from './host-checks.js';

export interface FactSource {
  readText(path: string): Promise<string | undefined>;
  listDir(path: string): Promise<string[] | undefined>;
  exists(path: string): Promise<boolean>;
  /** True for an executable regular file. */
  isExecutable(path: string): Promise<boolean>;
  /** Absolute path of a tool on PATH, or undefined. */
  whichTool(name: string): Promise<string | undefined>;
  kernelRelease(): string;
  /** First line a tool prints for its version arguments, or undefined if it fails. */
  version(argv: string[]): Promise<string | undefined>;
  /** The host's OS as jails see it (its /etc, the OS dirs' links into it); absent: not looked at. */
  osView?(): Promise<OsViewFacts>;
}

/** The host's /etc with link targets, the symbolic links of the shared OS dirs, nsswitch.conf. */
export async function gatherOsView(): Promise<OsViewFacts> {
  const osLinks: OsViewFacts['osLinks'] = [];
  for (const dir of OS_LINK_DIRS) {
    const names = await readdir(dir).catch(() => [] as string[]); // a dir this host lacks has no links
    for (const n of names) {
      const target = await readlink(`${dir}/${n}`).catch(() => undefined); // not a link
      if (target !== undefined) osLinks.push({ path: `${dir}/${n}`, target });
    }
  }
  const nsswitch = await readFile('/etc/nsswitch.conf', 'utf8').catch(() => undefined); // none: glibc's defaults, files and dns
  return { etc: await scanEtc('/etc', { targets: true }), osLinks, ...(nsswitch !== undefined ? { nsswitch } : {}) };
}

/** Kernel modules host check looks for under /lib/modules/<release>. */
const MODULES = ['btrfs', 'overlay'];
const VERSION_TIMEOUT_MS = 5_000;
const MAX_VERSION_CHARS = 60;

/** The first non-empty line of a tool's version output, shortened for a table cell. */
export function versionLine(stdout: string, stderr: string): string | undefined {
  const line = [...stdout.split('\n'), ...stderr.split('\n')].map((l) => l.trim()).find(Boolean);
  if (!line) return undefined;
  return line.length > MAX_VERSION_CHARS ? line.slice(0, MAX_VERSION_CHARS - 1) + '…' : line;
}

/** The real host: node:fs for reads, the exec helper for versions. */
export function realFactSource(exec: Exec): FactSource {
  // Every fact is "unknown" (undefined/false) when it cannot be read: the checks report what
  // is unknown as missing, with the fix; they never act on it.
  return {
    async readText(path) {
      try { return await readFile(path, 'utf8'); } catch { return undefined; } // unknown: see above
    },
    async listDir(path) {
      try { return await readdir(path); } catch { return undefined; } // unknown: see above
    },
    async exists(path) {
      try { await stat(path); return true; } catch { return false; } // unknown: see above
    },
    async isExecutable(path) {
      try { await access(path, constants.X_OK); return (await stat(path)).isFile(); } catch { return false; } // unknown: see above
    },
    whichTool,
    kernelRelease: release,
    osView: gatherOsView,
    async version(argv) {
      try {
        const r = await exec(argv, { timeoutMs: VERSION_TIMEOUT_MS, env: { ...process.env, LC_ALL: 'C' } });
        return versionLine(r.stdout, r.stderr);
      } catch { return undefined; } // a tool that cannot say its version: unknown, reported by the check
    },
  };
}

/** Sorts version directory names newest first: 16 before 15 before 9.6. */
export function newestFirst(names: readonly string[]): string[] {
  const key = (n: string) => n.split('.').map((p) => Number.parseInt(p, 10) || 0);
  return [...names].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < Math.max(ka.length, kb.length); i++) {
      const d = (kb[i] ?? 0) - (ka[i] ?? 0);
      if (d !== 0) return d;
    }
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

async function locateTool(src: FactSource, t: ToolRequirement): Promise<string | undefined> {
  const onPath = await src.whichTool(t.name);
  if (onPath || !t.versioned) return onPath;
  const versions = (await src.listDir(t.versioned.root)) ?? [];
  for (const v of newestFirst(versions)) {
    const p = `${t.versioned.root}/${v}/${t.versioned.suffix}`;
    if (await src.isExecutable(p)) return p;
  }
  return undefined;
}

async function gatherTools(src: FactSource, tools: readonly ToolRequirement[], versions: boolean): Promise<HostFacts['tools']> {
  const entries = await Promise.all(tools.map(async (t) => {
    const path = await locateTool(src, t);
    if (!path) return [t.name, null] as const;
    const version = versions ? await src.version([path, ...t.versionArgs]) : undefined;
    return [t.name, version ? { path, version } : { path }] as const;
  }));
  return Object.fromEntries(entries);
}

/**
 * Kernel modules available for `rel`, from modules.dep (every loadable module) and
 * modules.builtin (compiled in), limited to MODULES.
 */
async function gatherModules(src: FactSource, rel: string): Promise<string[]> {
  const files: string[] = [];
  for (const index of ['modules.dep', 'modules.builtin']) {
    const text = await src.readText(`/lib/modules/${rel}/${index}`);
    for (const line of text?.split('\n') ?? []) {
      const path = line.split(':')[0]?.trim();
      if (path) files.push(path.slice(path.lastIndexOf('/') + 1));
    }
  }
  return moduleNames(files).filter((m) => MODULES.includes(m));
}

async function gatherCgroups(src: FactSource): Promise<HostFacts['cgroup']> {
  const v2 = await src.readText('/sys/fs/cgroup/cgroup.controllers');
  const mounts = (await src.readText('/proc/self/mountinfo')) ?? (await src.readText('/proc/mounts')) ?? '';
  return {
    v2: v2 === undefined ? null : v2.split(/\s+/).filter(Boolean).sort(),
    v1: parseCgroupV1Controllers(mounts),
  };
}

export async function gatherFacts(src: FactSource, opts: { tools?: readonly ToolRequirement[]; versions?: boolean } = {}): Promise<HostFacts> {
  const rel = src.kernelRelease();
  const [tools, filesystems, modules, namespaces, cgroup, loopControl] = await Promise.all([
    gatherTools(src, opts.tools ?? TOOLS, opts.versions ?? true),
    src.readText('/proc/filesystems').then((t) => parseFilesystems(t ?? '')),
    gatherModules(src, rel),
    src.listDir('/proc/self/ns').then((l) => (l ?? []).sort()),
    gatherCgroups(src),
    src.exists('/dev/loop-control'),
  ]);
  const osView = src.osView ? await src.osView() : undefined;
  return { tools, kernelRelease: rel, filesystems, modules, namespaces, cgroup, loopControl, ...(osView ? { osView } : {}) };
}
