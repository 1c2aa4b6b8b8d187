/**
 * `zfs receive` of one stream as snapshot `target`, all or nothing.
 *
 * - An incremental stream relative to a snapshot of the same dataset lands in that existing
 *   dataset (whose latest snapshot must be the parent: zfs's rule).
 * - A full stream, or one relative to a snapshot of another dataset (a clone's stream, sent
 *   against its origin), makes a new dataset; its name must be free.
 * Missing parents are created as plain datasets. On any failure the partial state is
 * discarded (`zfs receive -A`, for a state left by an earlier `zfs receive -s`), a new
 * dataset destroyed, a new snapshot of an existing one destroyed, empty parents pruned, and
 * the cause thrown: the input's own error first, else zfs's.
 */
import type { Readable } from 'node:stream';
import { ExistsError, NotFoundError, UserError } from '../../sys/errors.js';
import type { SnapshotRef } from '../../sys/names.js';
import { Revert } from '../../sys/revert.js';
import type { Exec } from '../../sys/exec.js';
import type { SnapshotInfo } from '../driver.js';
import { feedTool } from '../feed.js';
import { snapshotTaken, RECEIVE_FIX } from '../messages.js';
import * as argv from './argv.js';
import { isKind, run } from './classify.js';
import { ancestorsDeepestFirst, MARK } from './layout.js';

/** What a receive needs of the open pool (ZfsDriver has it; narrow so this file does not import driver.ts). */
export interface ZfsReceivePool {
  readonly exec: Exec;
  readonly poolName: string;
  /** Full zfs name of a dataset / snapshot. */
  full(ds: string): string;
  fullSnap(ref: SnapshotRef): string;
  snapshotExists(ref: SnapshotRef): Promise<boolean>;
  /** Whether a zfs filesystem exists at dataset name `ds` (a cellblock dataset or not). */
  filesystemExists(ds: string): Promise<boolean>;
  pruneParents(ds: string): Promise<void>;
  snapshotInfo(ref: SnapshotRef): Promise<SnapshotInfo>;
}

const fmt = (r: SnapshotRef) => `${r.dataset}@${r.snapshot}`;

export async function receiveSnapshot(d: ZfsReceivePool, input: Readable, target: SnapshotRef, parent?: SnapshotRef): Promise<SnapshotInfo> {
  const exec = d.exec;
  const ds = target.dataset;
  const full = d.full(ds);
  if (input.destroyed || input.readableEnded) throw new UserError('the stream to receive was already consumed or closed', 'pass a fresh stream');
  if (await d.snapshotExists(target)) throw snapshotTaken(target, RECEIVE_FIX);
  if (parent && !(await d.snapshotExists(parent))) {
    throw new NotFoundError(`the stream is relative to ${fmt(parent)}, which is not in pool ${d.poolName}`, 'receive that snapshot first, or send a full stream');
  }
  const intoExisting = parent !== undefined && parent.dataset === ds;
  if (!intoExisting && (await d.filesystemExists(ds))) {
    throw new ExistsError(
      `cannot receive ${fmt(target)}: dataset ${ds} already exists here`,
      'a full stream (or a clone\'s) makes a new dataset: destroy it first, receive under another name, or send incrementally against a snapshot it has',
    );
  }
  return Revert.run(async (r) => {
    r.add(`remove the partial receive of ${fmt(target)}`, async () => {
      await run(exec, argv.receiveAbort(full)).catch(() => { /* no partial state: the usual case */ });
      if (!intoExisting) {
        if (await d.filesystemExists(ds)) await run(exec, argv.destroy(full, { recursive: true }));
      } else if (await d.snapshotExists(target)) {
        await run(exec, argv.destroy(d.fullSnap(target)));
      }
      await d.pruneParents(ds);
    });
    for (const a of ancestorsDeepestFirst(ds).reverse()) {
      if (!(await d.filesystemExists(a))) await run(exec, argv.create(d.full(a)));
    }
    const a = argv.receive(d.fullSnap(target), intoExisting ? {} : { props: { [MARK]: ds } });
    try {
      await feedTool(input, a, (x, o) => run(exec, x, o));
    } catch (e) {
      if (isKind(e, 'not-found')) {
        throw new NotFoundError(`cannot receive ${fmt(target)}: ${e.stderr.trim().split('\n').pop()}`, 'receive the snapshot this stream is relative to first, or send a full stream');
      }
      throw e;
    }
    return d.snapshotInfo(target);
  });
}
