/**
 * The pure core of the per-host reconciler (reconciler.ts runs it): this host's assignments
 * and its jails in, the actions that converge them and one sentence out. No I/O, no clock.
 *
 *   image missing        -> pull (once per image; no create until it is present)
 *   jail absent          -> create
 *   jail on another spec -> replace (the recorded spec hash differs), except:
 *   only its disk raised -> resize (in place, no restart: the file system applies it)
 *   created/stopped/failed -> start
 *   running/restarting   -> nothing
 *   managed, unassigned  -> remove
 *
 * Only jails named like replicas (parseReplicaJailName) are managed; others are never touched.
 * Nothing is proposed for a key in flight, nor for one cooling down after a failure (see
 * afterFailure): a jail name, or `pull:NAME:TAG`.
 */
import { parseReplicaJailName, type Assignment } from '../cluster/model.js';
import { DEFAULT_DISK } from '../jail/model.js';
import type { JailCreateRequest, JailState, JailView } from '../jail/service.js';
import { formatImageRef } from '../sys/names.js';
import { formatSize } from '../sys/size.js';
import { specHash } from '../cluster/stacks.js';

export type Action =
  | { kind: 'pull'; image: string }
  | { kind: 'create'; assignment: Assignment }
  | { kind: 'replace'; assignment: Assignment }
  | { kind: 'resize'; assignment: Assignment }
  | { kind: 'start'; jail: string }
  | { kind: 'remove'; jail: string };

export interface ReconcileInput {
  assignments: Assignment[];
  jails: JailView[];
  /** Jail names, and `pull:NAME:TAG`, of actions still running. */
  inFlight: Set<string>;
  /** Keys like inFlight's whose last action failed and may not be tried again yet (coolingDown). */
  cooldown: Set<string>;
  /** NAME:TAG of the images this host holds. */
  imagesPresent: Set<string>;
  /** By jail: the spec hash it was created from (recorded once it was created). */
  hashes: Map<string, string>;
  /** The jail service can change a jail's disk limit in place (JailService.setDisk). */
  canResize?: boolean;
}

export interface ReconcileResult {
  /** Pulls (by image), then create/replace/start (by jail), then removes (by jail). */
  actions: Action[];
  sentence: string;
}

export const pullKey = (image: string): string => `pull:${image}`;

/** The key an action runs under: one in flight (or cooling down) per key. */
export function actionKey(a: Action): string {
  switch (a.kind) {
    case 'pull': return pullKey(a.image);
    case 'create':
    case 'replace':
    case 'resize': return a.assignment.jail;
    case 'start':
    case 'remove': return a.jail;
  }
}

/**
 * True when the jail's recorded spec differs from the assignment's only by a larger disk: the
 * assignment's spec with the jail's current limit hashes to what the jail was made from.
 */
export function onlyDiskRaised(a: Assignment, view: JailView, recorded: string | undefined): boolean {
  const limit = view.disk?.limitBytes;
  if (recorded === undefined || limit === null || limit === undefined) return false;
  if ((a.spec.diskBytes ?? DEFAULT_DISK) <= limit) return false;
  const { diskBytes: _d, ...rest } = a.spec;
  const candidates = [{ ...rest, diskBytes: limit }, ...(limit === DEFAULT_DISK ? [rest] : [])];
  return candidates.some((spec) => specHash(spec) === recorded);
}

/** Retry backoff of a failing action: 1 s after the first failure, doubling, at most 30 s. */
export const BACKOFF_FIRST_MS = 1000;
export const BACKOFF_MAX_MS = 30_000;

/** Per key: consecutive failures, and the time (the caller's clock, ms) before which it waits. */
export interface Retry {
  failures: number;
  until: number;
}

/** The retry state after one more failure at `now`. (A success deletes the key's state.) */
export function afterFailure(prev: Retry | undefined, now: number): Retry {
  const failures = (prev?.failures ?? 0) + 1;
  return { failures, until: now + Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(failures - 1, 16)) };
}

/** The keys still cooling down at `now`. */
export function coolingDown(retries: ReadonlyMap<string, Retry>, now: number): Set<string> {
  return new Set([...retries].filter(([, r]) => now < r.until).map(([key]) => key));
}

/**
 * The retry state still worth keeping: a key whose wait ended a full BACKOFF_MAX_MS ago and
 * is not in flight was not tried again (no longer needed), so its count is dropped.
 */
export function pruneRetries(retries: ReadonlyMap<string, Retry>, now: number, inFlight: ReadonlySet<string>): Map<string, Retry> {
  return new Map([...retries].filter(([key, r]) => inFlight.has(key) || now < r.until + BACKOFF_MAX_MS));
}

const STARTABLE: ReadonlySet<JailState> = new Set<JailState>(['created', 'stopped', 'failed']);

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function reconcile(i: ReconcileInput): ReconcileResult {
  const views = new Map(i.jails.map((j) => [j.name, j]));
  const assigned = new Map<string, Assignment>();
  for (const a of [...i.assignments].sort((x, y) => cmp(x.jail, y.jail))) if (!assigned.has(a.jail)) assigned.set(a.jail, a);

  const pulls = new Set<string>();
  const work: Action[] = [];
  let running = 0;
  let waiting = 0;
  let cooling = 0;
  for (const [jail, a] of assigned) {
    if (i.inFlight.has(jail)) { waiting++; continue; }
    const view = views.get(jail);
    const recorded = i.hashes.get(jail);
    const change = !view ? 'create' : recorded !== a.specHash ? 'replace' : null;
    if (change === 'replace' && i.canResize && onlyDiskRaised(a, view!, recorded)) {
      if (i.cooldown.has(jail)) { cooling++; continue; }
      work.push({ kind: 'resize', assignment: a });
    } else if (change) {
      const image = formatImageRef(a.spec.image);
      if (i.inFlight.has(pullKey(image))) { waiting++; continue; }
      if (!i.imagesPresent.has(image)) {
        if (i.cooldown.has(pullKey(image))) cooling++;
        else pulls.add(image);
        continue;
      }
      if (i.cooldown.has(jail)) { cooling++; continue; }
      work.push({ kind: change, assignment: a });
    } else if (STARTABLE.has(view!.state)) {
      if (i.cooldown.has(jail)) { cooling++; continue; }
      work.push({ kind: 'start', jail });
    } else {
      running++;
    }
  }
  const removes: Action[] = i.jails
    .map((j) => j.name)
    .filter((name) => parseReplicaJailName(name) && !assigned.has(name) && !i.inFlight.has(name) && !i.cooldown.has(name))
    .sort(cmp)
    .map((jail) => ({ kind: 'remove', jail }));

  const actions: Action[] = [...[...pulls].sort(cmp).map((image): Action => ({ kind: 'pull', image })), ...work, ...removes];
  return { actions, sentence: sentence(actions, running, waiting, cooling) };
}

/** "pull site:v2; create demo.site.0; remove demo.site.3", or "nothing to do (2 replicas running)". */
function sentence(actions: Action[], running: number, waiting: number, cooling: number): string {
  if (actions.length > 0) return actions.map(actionText).join('; ');
  const parts = [`${running} ${running === 1 ? 'replica' : 'replicas'} running`];
  if (waiting > 0) parts.push(`${waiting} in progress`);
  if (cooling > 0) parts.push(`${cooling} to retry after a failure`);
  return `nothing to do (${parts.join(', ')})`;
}

export function actionText(a: Action): string {
  switch (a.kind) {
    case 'pull': return `pull ${a.image}`;
    case 'create':
    case 'replace': return `${a.kind} ${a.assignment.jail}`;
    case 'resize': return `raise the disk limit of ${a.assignment.jail} to ${formatSize(a.assignment.spec.diskBytes ?? DEFAULT_DISK)} in place`;
    case 'start':
    case 'remove': return `${a.kind} ${a.jail}`;
  }
}

/**
 * The raw create request for a replica: the normalized spec written back as the strings the
 * jail manager parses (model.ts), so that parsing it gives the same values. Started at once.
 */
export function jailRequest(a: Assignment): JailCreateRequest {
  const s = a.spec;
  const req: JailCreateRequest = {
    name: a.jail,
    image: formatImageRef(s.image),
    pids: String(s.pids),
    env: Object.entries(s.env).map(([k, v]) => `${k}=${v}`),
    user: `${s.user.uid}:${s.user.gid}`,
    rw: [...s.rw],
    ...(s.etc ? { etc: Object.entries(s.etc).map(([path, source]) => `${path}=${source}`) } : {}),
    restart: s.restart,
    command: [...s.command],
    start: true,
  };
  if (s.memoryBytes !== undefined) req.memory = String(s.memoryBytes);
  if (s.cpus !== undefined) req.cpus = String(s.cpus);
  // always given: the scheduler counted exactly this against the host's pool, whatever the host's own default
  req.disk = String(s.diskBytes ?? DEFAULT_DISK);
  return req;
}
