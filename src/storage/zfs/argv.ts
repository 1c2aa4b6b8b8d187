/**
 * Command lines of the zfs driver (STYLE.md §1-2): pure builders, tested by deep equality.
 * Names reaching them are full zfs names built from a checked pool dataset and checked
 * cellblock names (src/sys/names.ts), so none starts with "-".
 */

export type Props = Readonly<Record<string, string>>;

function opts(props: Props | undefined): string[] {
  return Object.entries(props ?? {}).flatMap(([k, v]) => ['-o', `${k}=${v}`]);
}

/** `zfs create [-p] [-o k=v]... NAME`: -p also makes missing parents (without the properties). */
export function create(name: string, o: { parents?: boolean; props?: Props } = {}): string[] {
  return ['zfs', 'create', ...(o.parents ? ['-p'] : []), ...opts(o.props), name];
}

/** `zfs destroy [-r] NAME`: -r also destroys its snapshots and child datasets (never clones elsewhere: that is -R). */
export function destroy(name: string, o: { recursive?: boolean } = {}): string[] {
  return ['zfs', 'destroy', ...(o.recursive ? ['-r'] : []), name];
}

export function snapshot(snap: string): string[] {
  return ['zfs', 'snapshot', snap];
}

/** `zfs rollback SNAP`: only to the most recent snapshot (-r, which destroys later ones, is never used). */
export function rollback(snap: string): string[] {
  return ['zfs', 'rollback', snap];
}

export function clone(snap: string, name: string, o: { parents?: boolean; props?: Props } = {}): string[] {
  return ['zfs', 'clone', ...(o.parents ? ['-p'] : []), ...opts(o.props), snap, name];
}

export type ListType = 'filesystem' | 'snapshot' | 'volume' | 'all';

/**
 * `zfs list -H -p -o COLS -t TYPES [-r | -d N] [NAME]`: no header, tab-separated, exact numbers
 * (parsed by ./parse.ts). `depth: 1` with a filesystem and type snapshot lists its own snapshots.
 */
export function list(columns: readonly string[], o: { types: readonly ListType[]; name?: string; recursive?: boolean; depth?: number }): string[] {
  return [
    'zfs', 'list', '-H', '-p', '-o', columns.join(','), '-t', o.types.join(','),
    ...(o.recursive ? ['-r'] : []),
    ...(o.depth !== undefined ? ['-d', String(o.depth)] : []),
    ...(o.name !== undefined ? [o.name] : []),
  ];
}

/** `zfs get -H -p -o value PROP NAME`: one value, exact. */
export function get(prop: string, name: string): string[] {
  return ['zfs', 'get', '-H', '-p', '-o', 'value', prop, name];
}

export function set(name: string, props: Props): string[] {
  return ['zfs', 'set', ...Object.entries(props).map(([k, v]) => `${k}=${v}`), name];
}

/** `zfs inherit PROP NAME`: drops a local value (a user property then disappears unless a parent has it). */
export function inherit(prop: string, name: string): string[] {
  return ['zfs', 'inherit', prop, name];
}

export function mount(name: string): string[] {
  return ['zfs', 'mount', name];
}

/** `zfs send [-i PARENT] SNAP`: a full stream, or the difference from PARENT (a snapshot of the same dataset or of its origin). */
export function send(snap: string, o: { parent?: string } = {}): string[] {
  return ['zfs', 'send', ...(o.parent ? ['-i', o.parent] : []), snap];
}

/**
 * `zfs receive [-u] [-F] [-s] [-o k=v]... TARGET`: -u leaves it unmounted, -F rolls the
 * destination back first, -s keeps a resumable partial state on failure (see receiveAbort).
 */
export function receive(target: string, o: { unmounted?: boolean; force?: boolean; resumable?: boolean; props?: Props } = {}): string[] {
  return [
    'zfs', 'receive',
    ...(o.unmounted ? ['-u'] : []),
    ...(o.force ? ['-F'] : []),
    ...(o.resumable ? ['-s'] : []),
    ...opts(o.props),
    target,
  ];
}

/** `zfs receive -A NAME`: discards the partial state a failed `zfs receive -s` left on NAME. */
export function receiveAbort(name: string): string[] {
  return ['zfs', 'receive', '-A', name];
}

/** `zpool list -H -p -o name,size,allocated,free,health [POOL]`. */
export function zpoolList(pool?: string): string[] {
  return ['zpool', 'list', '-H', '-p', '-o', 'name,size,allocated,free,health', ...(pool !== undefined ? [pool] : [])];
}

/**
 * `zfs set refquota=BYTES NAME` ("none" lifts it): a limit on what the dataset itself refers
 * to, not counting its snapshots or children (`quota` would count them, so a snapshot of a full
 * jail would stop its writes).
 */
export function refquota(name: string, bytes: number | null): string[] {
  return set(name, { refquota: bytes === null ? 'none' : String(bytes) });
}
