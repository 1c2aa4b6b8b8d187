/**
 * The errors every driver gives for the same situations, worded once: a dataset or snapshot
 * that is missing, or that exists already. The fix says what to do next.
 */
import { ExistsError, NotFoundError } from '../sys/errors.js';
import type { SnapshotRef } from '../sys/names.js';
import { formatRef } from './paths.js';

export function noDataset(ds: string): NotFoundError {
  return new NotFoundError(`dataset ${ds} does not exist`, `create it first (cellblock dataset create ${ds}), or check the name with: cellblock dataset ls`);
}

export function noSnapshot(ref: SnapshotRef): NotFoundError {
  return new NotFoundError(`snapshot ${formatRef(ref)} does not exist`, `see the snapshots there are with: cellblock snapshot ls ${ref.dataset}`);
}

/** `fix` by situation: a new dataset ('use it, or choose another name'), a clone's target, a receive's. */
export function datasetTaken(ds: string, fix = 'use it, or choose another name'): ExistsError {
  return new ExistsError(`dataset ${ds} already exists`, fix);
}

export function snapshotTaken(ref: SnapshotRef, fix = 'choose another snapshot name, or destroy the old one first'): ExistsError {
  return new ExistsError(`snapshot ${formatRef(ref)} already exists`, fix);
}

export const CLONE_FIX = 'choose another name for the clone';
export const RECEIVE_FIX = 'destroy it first, or receive under another name';
