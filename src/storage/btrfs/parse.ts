/**
 * Pure parsers of what btrfs-progs 6.2 and util-linux 2.38 (Debian 12) print. Tested on
 * captured real output in test/storage/btrfs/parse.test.ts.
 */

export interface LoopDevice {
  device: string;
  backFile: string;
}

/** `losetup --list --json -j FILE`: {"loopdevices": [{"name": "/dev/loop0", "back-file": "/x.img", ...}]}. */
export function parseLosetupJson(stdout: string): LoopDevice[] {
  if (stdout.trim() === '') return [];
  const doc = JSON.parse(stdout) as { loopdevices?: { name?: unknown; 'back-file'?: unknown }[] };
  return (doc.loopdevices ?? []).flatMap((d) =>
    typeof d.name === 'string' ? [{ device: d.name, backFile: typeof d['back-file'] === 'string' ? d['back-file'] : '' }] : [],
  );
}

/** `losetup -j FILE`: one line per device, `/dev/loop0: [65024]:2146417 (/tmp/a.img)`. */
export function parseLosetupAssociated(stdout: string): LoopDevice[] {
  const out: LoopDevice[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(\/dev\/[^:\s]+):\s+\S+\s+\((.*)\)\s*$/.exec(line);
    if (m) out.push({ device: m[1]!, backFile: m[2]! });
  }
  return out;
}

export interface DuRow {
  total: number;
  exclusive: number;
  setShared: number;
  path: string;
}

/**
 * `btrfs filesystem du -s --raw PATH...`:
 * ```
 *      Total   Exclusive  Set shared  Filename
 *    3145728           0     3145728  mnt/a
 * ```
 * "Set shared" is `-` when the kernel cannot tell; read as 0.
 */
export function parseFilesystemDu(stdout: string): DuRow[] {
  const out: DuRow[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+|-)\s+(.*)$/.exec(line);
    if (m) out.push({ total: Number(m[1]), exclusive: Number(m[2]), setShared: m[3] === '-' ? 0 : Number(m[3]), path: m[4]! });
  }
  return out;
}

export interface SubvolumeShow {
  /** Path relative to the filesystem's top level; "" for the top level itself (printed as "/"). */
  path: string;
  name: string;
  uuid?: string;
  parentUuid?: string;
  receivedUuid?: string;
  /** ISO 8601, UTC. */
  createdAt?: string;
  id: number;
  readonly: boolean;
}

/** `btrfs subvolume show PATH`: the relative path on the first line, then `\tKey: \t\tvalue` lines. */
export function parseSubvolumeShow(stdout: string): SubvolumeShow {
  const lines = stdout.split('\n');
  const first = (lines[0] ?? '').trim();
  const fields = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const m = /^\t([A-Za-z ()]+):\s*(.*)$/.exec(line);
    if (m) fields.set(m[1]!.trim(), m[2]!.trim());
  }
  const uuidOf = (k: string) => {
    const v = fields.get(k);
    return v && v !== '-' ? v : undefined;
  };
  const id = Number(fields.get('Subvolume ID'));
  if (!Number.isInteger(id)) throw new Error(`unexpected output of btrfs subvolume show: ${JSON.stringify(stdout.slice(0, 200))}`);
  const created = fields.get('Creation time');
  return {
    path: first === '/' ? '' : first,
    name: fields.get('Name') ?? '',
    uuid: uuidOf('UUID'),
    parentUuid: uuidOf('Parent UUID'),
    receivedUuid: uuidOf('Received UUID'),
    createdAt: created && created !== '-' ? parseBtrfsTime(created) : undefined,
    id,
    readonly: (fields.get('Flags') ?? '').split(/[\s,]+/).includes('readonly'),
  };
}

/** `2026-11-25 06:24:56 +0000` -> `2026-11-25T06:24:56.000Z`. */
export function parseBtrfsTime(s: string): string | undefined {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) ([+-])(\d\d)(\d\d)$/.exec(s.trim());
  if (!m) return undefined;
  const d = new Date(`${m[1]}T${m[2]}${m[3]}${m[4]}:${m[5]}`);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export interface SubvolumeListEntry {
  id: number;
  topLevel: number;
  parentUuid?: string;
  uuid?: string;
  /** Relative to the filesystem's top level, whatever is mounted where (with `-a`; see argv.subvolumeList). */
  path: string;
}

/** What `-a` puts before the paths of subvolumes outside the one holding the listed path. */
const FS_TREE_PREFIX = '<FS_TREE>/';

/**
 * `btrfs subvolume list -a -q -u PATH`:
 * `ID 258 gen 9 top level 5 parent_uuid 95ef...  uuid 6c2d... path <FS_TREE>/.snapshots/a@s1`
 * (parent_uuid is `-` padded with spaces when there is none; `<FS_TREE>/` is dropped).
 */
export function parseSubvolumeList(stdout: string): SubvolumeListEntry[] {
  const out: SubvolumeListEntry[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^ID (\d+) gen \d+ (?:cgen \d+ )?top level (\d+) (?:parent_uuid (\S+)\s+)?(?:received_uuid \S+\s+)?(?:uuid (\S+) )?path (.*)$/.exec(line);
    if (!m) continue;
    out.push({
      id: Number(m[1]),
      topLevel: Number(m[2]),
      parentUuid: m[3] && m[3] !== '-' ? m[3] : undefined,
      uuid: m[4] && m[4] !== '-' ? m[4] : undefined,
      path: m[5]!.startsWith(FS_TREE_PREFIX) ? m[5]!.slice(FS_TREE_PREFIX.length) : m[5]!,
    });
  }
  return out;
}

export interface MountEntry {
  source: string;
  target: string;
  fstype: string;
  options: string[];
}

/** /proc/self/mounts; spaces and other bytes in paths are octal escapes (`\040`). */
export function parseMounts(text: string): MountEntry[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text.split('\n').flatMap((line) => {
    const f = line.split(' ');
    if (f.length < 4) return [];
    return [{ source: unescape(f[0]!), target: unescape(f[1]!), fstype: f[2]!, options: f[3]!.split(',') }];
  });
}

export interface QgroupRow {
  /** "0/256" */
  qgroupid: string;
  referenced: number;
  exclusive: number;
  /** Limit of the referenced size; null: none. */
  maxReferenced: number | null;
}

/**
 * `btrfs qgroup show -r -f --raw PATH` (btrfs-progs 6.2):
 * ```
 * Qgroupid    Referenced    Exclusive  Max referenced   Path
 * --------    ----------    ---------  --------------   ----
 * 0/256         52412416     52412416        52428800   a
 * ```
 * Rows of level-0 groups only (those of subvolumes); a limit of "none" is null.
 */
export function parseQgroupShow(stdout: string): QgroupRow[] {
  const out: QgroupRow[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s*(0\/\d+)\s+(\d+)\s+(\d+)\s+(\d+|none)\b/.exec(line);
    if (m) out.push({ qgroupid: m[1]!, referenced: Number(m[2]), exclusive: Number(m[3]), maxReferenced: m[4] === 'none' ? null : Number(m[4]) });
  }
  return out;
}
