/**
 * Pure parser of `zfs list -H -p -o COLS` output (OpenZFS 2.1, zfs-list(8)): one line per
 * dataset or snapshot, fields separated by a single tab, no header; with -p numbers are exact
 * (bytes; `creation` in seconds since the epoch); "-" means "none" (an unset user property,
 * the origin of a dataset that is not a clone, usedbydataset of a snapshot).
 */

export interface ListRow {
  name: string;
  type?: string;
  used?: number;
  usedbydataset?: number;
  referenced?: number;
  available?: number;
  /** Limit of what the dataset itself refers to; 0: none (zfsprops(7)). */
  refquota?: number;
  /** Seconds since the epoch. */
  creation?: number;
  /** Transaction group of creation: orders snapshots made within one second. */
  createtxg?: number;
  origin?: string;
  mountpoint?: string;
  mounted?: boolean;
  readonly?: boolean;
  canmount?: string;
  /** User properties (`module:name`) that are set, by name. */
  user: Record<string, string>;
}

type Kind = 'number' | 'string' | 'yesno' | 'onoff';

const COLUMNS: Record<string, Kind> = {
  name: 'string',
  type: 'string',
  used: 'number',
  usedbydataset: 'number',
  referenced: 'number',
  available: 'number',
  refquota: 'number',
  creation: 'number',
  createtxg: 'number',
  origin: 'string',
  mountpoint: 'string',
  mounted: 'yesno',
  readonly: 'onoff',
  canmount: 'string',
};

export class ZfsParseError extends Error {
  override name = 'ZfsParseError';
}

/** True for a user property name (zfsprops(7): it contains a colon). */
export function isUserProp(col: string): boolean {
  return col.includes(':');
}

function convert(col: string, kind: Kind, v: string, line: string): number | string | boolean {
  switch (kind) {
    case 'number': {
      if (!/^\d+$/.test(v)) throw new ZfsParseError(`zfs list: ${col} is not a whole number in line ${JSON.stringify(line)}`);
      return Number(v);
    }
    case 'yesno':
      if (v !== 'yes' && v !== 'no') throw new ZfsParseError(`zfs list: ${col} is neither yes nor no in line ${JSON.stringify(line)}`);
      return v === 'yes';
    case 'onoff':
      if (v !== 'on' && v !== 'off') throw new ZfsParseError(`zfs list: ${col} is neither on nor off in line ${JSON.stringify(line)}`);
      return v === 'on';
    default:
      return v;
  }
}

/** Parses the output of `zfs list -H -p -o <columns>`; `columns` must start with name. */
export function parseList(output: string, columns: readonly string[]): ListRow[] {
  if (columns[0] !== 'name') throw new Error('parseList: the first column must be name');
  for (const c of columns) {
    if (!(c in COLUMNS) && !isUserProp(c)) throw new Error(`parseList: unknown column ${c}`);
  }
  const rows: ListRow[] = [];
  for (const line of output.split('\n')) {
    if (line === '') continue;
    const fields = line.split('\t');
    if (fields.length !== columns.length) {
      throw new ZfsParseError(`zfs list: expected ${columns.length} tab-separated fields, got ${fields.length} in line ${JSON.stringify(line)}`);
    }
    const row: ListRow = { name: fields[0]!, user: {} };
    const out = row as unknown as Record<string, unknown>;
    columns.forEach((col, i) => {
      const v = fields[i]!;
      if (i === 0) return;
      if (isUserProp(col)) {
        if (v !== '-') row.user[col] = v;
        return;
      }
      if (v === '-') return;
      out[col] = convert(col, COLUMNS[col]!, v, line);
    });
    rows.push(row);
  }
  return rows;
}

/** Splits a full snapshot name `tank/a/b@s` into dataset and snapshot; undefined when there is no single "@". */
export function splitSnapshotName(full: string): { dataset: string; snapshot: string } | undefined {
  const at = full.indexOf('@');
  if (at <= 0 || at !== full.lastIndexOf('@') || at === full.length - 1) return undefined;
  return { dataset: full.slice(0, at), snapshot: full.slice(at + 1) };
}
