/**
 * Pure argument builders for the tools the btrfs driver runs (STYLE.md §1-2): each returns
 * the argv array, drops flags that are not set, and never builds a shell string.
 * Tested by deep equality in test/storage/btrfs/argv.test.ts.
 */

function flag(on: boolean | undefined, name: string): string[] {
  return on ? [name] : [];
}

function opt(name: string, value: string | undefined): string[] {
  return value === undefined ? [] : [name, value];
}

/** `btrfs ...` with the given sub-command words and arguments. */
export function btrfs(...args: string[]): string[] {
  return ['btrfs', ...args];
}

export function subvolumeCreate(path: string): string[] {
  return btrfs('subvolume', 'create', path);
}

/** A snapshot of `src` at `dst` (which must not exist: btrfs would put it inside an existing directory). */
export function subvolumeSnapshot(src: string, dst: string, o: { readonly?: boolean } = {}): string[] {
  return btrfs('subvolume', 'snapshot', ...flag(o.readonly, '-r'), src, dst);
}

export function subvolumeDelete(paths: readonly string[], o: { commit?: boolean } = {}): string[] {
  if (paths.length === 0) throw new Error('subvolumeDelete: no paths');
  return btrfs('subvolume', 'delete', ...flag(o.commit, '--commit-after'), ...paths);
}

export function subvolumeShow(path: string): string[] {
  return btrfs('subvolume', 'show', path);
}

/**
 * Every subvolume of the filesystem holding `path`, with uuid and parent uuid. `-a` makes
 * every path relative to the top level (without it, btrfs-progs 6.2 prints some relative
 * to the subvolume holding `path` and some not, with no way to tell them apart).
 */
export function subvolumeList(path: string): string[] {
  return btrfs('subvolume', 'list', '-a', '-q', '-u', path);
}

/** Space of one tree in bytes: Total / Exclusive / Set shared. */
export function filesystemDu(path: string): string[] {
  return btrfs('filesystem', 'du', '-s', '--raw', path);
}

export function send(snapshot: string, o: { parent?: string; quiet?: boolean } = {}): string[] {
  return btrfs('send', ...flag(o.quiet, '-q'), ...opt('-p', o.parent), snapshot);
}

/** Receives one stream into `dir`; `-e` stops at the stream's end marker and fails on EOF before it. */
export function receive(dir: string, o: { endMarker?: boolean } = {}): string[] {
  return btrfs('receive', ...flag(o.endMarker, '-e'), dir);
}

export function mkfsBtrfs(device: string, o: { label?: string; quiet?: boolean } = {}): string[] {
  return ['mkfs.btrfs', ...flag(o.quiet, '-q'), ...opt('-L', o.label), device];
}

/** Attaches `file` to the first free loop device and prints the device. */
export function losetupAttach(file: string): string[] {
  return ['losetup', '--find', '--show', file];
}

/** Loop devices backed by `file`, as JSON (`losetup --list --json -j FILE`). */
export function losetupAssociated(file: string, o: { json?: boolean } = {}): string[] {
  return ['losetup', ...(o.json ? ['--list', '--json'] : []), '-j', file];
}

export function losetupDetach(device: string): string[] {
  return ['losetup', '-d', device];
}

export function mount(source: string, target: string, o: { type?: string; options?: readonly string[] } = {}): string[] {
  const options = o.options?.length ? ['-o', o.options.join(',')] : [];
  return ['mount', ...opt('-t', o.type), ...options, source, target];
}

export function umount(target: string): string[] {
  return ['umount', target];
}

/** Turns on quota groups for the filesystem holding `path` (a no-op when they are on). */
export function quotaEnable(path: string): string[] {
  return btrfs('quota', 'enable', path);
}

/**
 * Limits the referenced size of the subvolume at `path` to `bytes` ("none" lifts it). Referenced,
 * not exclusive: what the dataset holds counts whether or not a snapshot shares it.
 */
export function qgroupLimit(bytes: number | 'none', path: string): string[] {
  return btrfs('qgroup', 'limit', String(bytes), path);
}

/** The quota group of the subvolume at `path` only (`-f`), with limits (`-r`), in bytes. */
export function qgroupShow(path: string): string[] {
  return btrfs('qgroup', 'show', '-r', '-f', '--raw', path);
}
