/**
 * A jail's OCI bundle on disk:
 *   BUNDLE/config.json   from oci.ts
 *   BUNDLE/rootfs/       the skeleton: mount points, and on merged-/usr hosts bin -> usr/bin etc.
 *   BUNDLE/etc/          the jail's own /etc files (etc.ts), each laid read-only over the host's
 *   BUNDLE/masked        an empty read-only file, bound over each masked file of the host's /etc
 *   BUNDLE/runc.log      runc's own log (json lines) of the last run
 *   BUNDLE/init.pid      the container's init PID, written by runc
 * and the jail's writable dir: WRITABLE/tmp (1777), WRITABLE/var, WRITABLE/<each --rw dir>.
 *
 * The layout and skeleton are pure; writeBundle() makes them (idempotent: rewriting a
 * bundle of a stopped jail refreshes config.json, its /etc files and the masks from the
 * host as it is now, and keeps the writable data).
 */
import { chmod, chown, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathExists, writeJsonAtomic } from '../sys/fsutil.js';
import { renderEtc, type Resolver } from './etc.js';
import type { JailSpec } from './model.js';
import { buildOciConfig, rwMountDirs, type HostInfo, type OciConfig } from './oci.js';
import { checkEtcSpec, etcViewOf, readHostEtc, type HostEtc } from './etc-view.js';

export interface BundleLayout {
  dir: string;
  config: string;
  rootfs: string;
  etc: string;
  /** Empty; bound over each file of the host's /etc the jail must not see. */
  masked: string;
  runcLog: string;
  /** The container's init PID, written by runc. */
  pidFile: string;
}

export function bundleLayout(dir: string): BundleLayout {
  return { dir, config: join(dir, 'config.json'), rootfs: join(dir, 'rootfs'), etc: join(dir, 'etc'), masked: join(dir, 'masked'), runcLog: join(dir, 'runc.log'), pidFile: join(dir, 'init.pid') };
}

export type SkeletonEntry = { path: string; kind: 'dir' } | { path: string; kind: 'symlink'; target: string };

/** What the read-only root holds: only mount points and the merged-/usr symlinks. */
export function skeletonEntries(spec: JailSpec, host: HostInfo): SkeletonEntry[] {
  const dirs = new Set(['usr', 'etc', 'app', 'proc', 'dev', 'sys', 'tmp', 'var', 'root', 'run']);
  const out: SkeletonEntry[] = [];
  for (const d of host.hostRootDirs) {
    if (host.usrMerged) out.push({ path: d, kind: 'symlink', target: `usr/${d}` });
    else dirs.add(d);
  }
  // mount points of --rw dirs outside /tmp and /var: the root is read-only once the jail runs
  for (const d of rwMountDirs(spec.rw)) dirs.add(d.slice(1));
  return [...[...dirs].sort().map((path) => ({ path, kind: 'dir' as const })), ...out];
}

/** Host dirs to create in the writable dataset: tmp, var and every --rw dir. */
export function writableEntries(spec: JailSpec): { path: string; mode: number; owned: boolean }[] {
  return [
    { path: join(spec.writablePath, 'tmp'), mode: 0o1777, owned: false },
    { path: join(spec.writablePath, 'var'), mode: 0o755, owned: false },
    ...spec.rw.map((d) => ({ path: join(spec.writablePath, d), mode: 0o755, owned: true })),
  ];
}

const present = pathExists;

export interface BundleInput {
  spec: JailSpec;
  host: HostInfo;
  /** The jail's address, for /etc/hosts. */
  ip?: string;
  resolver: Resolver;
  /** The host's /etc as read just before; read now when absent. */
  hostEtc?: HostEtc;
}

/** Writes the bundle and the writable dirs; returns the config that was written. */
export async function writeBundle(dir: string, input: BundleInput): Promise<OciConfig> {
  const { spec, host } = input;
  const l = bundleLayout(dir);
  await mkdir(l.rootfs, { recursive: true, mode: 0o755 });
  for (const e of skeletonEntries(spec, host)) {
    const p = join(l.rootfs, e.path);
    if (e.kind === 'dir') await mkdir(p, { recursive: true, mode: 0o755 });
    else if (!(await present(p))) await symlink(e.target, p);
  }
  const hostEtc = input.hostEtc ?? await readHostEtc();
  await checkEtcSpec(spec, hostEtc);
  await mkdir(l.etc, { recursive: true, mode: 0o755 });
  const files = renderEtc({ hostname: spec.hostname, ip: input.ip ?? spec.ip, user: spec.user, resolver: input.resolver, accounts: hostEtc.accounts });
  for (const name of await readdir(l.etc)) if (!(name in files)) await rm(join(l.etc, name), { force: true }); // an earlier run's, e.g. passwd for a user the host now has
  for (const [name, content] of Object.entries(files)) await writeFile(join(l.etc, name), content, { mode: 0o644 });
  if (!(await present(l.masked))) await writeFile(l.masked, '', { mode: 0o444 });
  for (const w of writableEntries(spec)) {
    const isNew = !(await present(w.path));
    await mkdir(w.path, { recursive: true, mode: w.mode });
    if (isNew) {
      await chmod(w.path, w.mode); // mkdir's mode is filtered by the umask
      // a new --rw dir belongs to the jail's user, so a non-root jail can write its data
      if (w.owned) await chown(w.path, spec.user.uid, spec.user.gid);
    }
  }
  const config = buildOciConfig(spec, host, dir, etcViewOf(spec, hostEtc, Object.keys(files)));
  await writeJsonAtomic(l.config, config, 0o644);
  return config;
}
