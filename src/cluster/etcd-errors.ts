/**
 * etcd's errors, classified once. The etcd3 client hands a server error over as a gRPC
 * status whose message is etcd's own text (etcd 3.4.23, Debian 12's etcd-server); each
 * pattern below is one such text, with the rpctypes error that prints it. Call sites ask
 * `etcdErrorKind(err)`, never match the text themselves.
 */

/** etcd 3.4: rpctypes.ErrGRPCUnhealthy, "etcdserver: unhealthy cluster" (a member change within 5 s of another, or no quorum). */
export const UNHEALTHY_CLUSTER = /etcdserver: unhealthy cluster/i;
/** etcd 3.4: rpctypes.ErrGRPCLearnerNotReady, "etcdserver: can only promote a learner member which is in sync with leader". */
export const LEARNER_NOT_READY = /can only promote a learner member which is in sync with leader/i;
/** etcd 3.4: rpctypes.ErrGRPCMemberNotLearner, "etcdserver: can only promote a learner member" (checked after LEARNER_NOT_READY, which starts alike). */
export const NOT_A_LEARNER = /can only promote a learner member/i;
/** etcd 3.4: rpctypes.ErrGRPCMemberNotFound, "etcdserver: member not found". */
export const MEMBER_NOT_FOUND = /etcdserver: member not found/i;
/** etcd 3.4: rpctypes.ErrGRPCLeaseNotFound, "etcdserver: requested lease not found". */
export const LEASE_NOT_FOUND = /requested lease not found/i;
/** etcd 3.4: a removed member's own log, "the member has been permanently removed from the cluster". */
export const MEMBER_REMOVED_LOG = 'the member has been permanently removed from the cluster';
/**
 * etcd3 (the Node client) when no endpoint answers: its GRPCConnectFailedError /
 * GRPCUnavailableError ("14 UNAVAILABLE: No connection established", "connect ECONNREFUSED").
 */
export const UNAVAILABLE = /UNAVAILABLE|No connection established|ECONNREFUSED|GRPCConnectFailed|deadline exceeded/i;

export type EtcdErrorKind = 'unhealthy-cluster' | 'learner-not-ready' | 'not-a-learner' | 'member-not-found' | 'lease-not-found' | 'unavailable' | 'other';

/** What kind of etcd failure err is (by etcd's message; the client keeps no error codes of its own). */
export function etcdErrorKind(err: unknown): EtcdErrorKind {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  if (UNHEALTHY_CLUSTER.test(text)) return 'unhealthy-cluster';
  if (LEARNER_NOT_READY.test(text)) return 'learner-not-ready';
  if (NOT_A_LEARNER.test(text)) return 'not-a-learner';
  if (MEMBER_NOT_FOUND.test(text)) return 'member-not-found';
  if (LEASE_NOT_FOUND.test(text)) return 'lease-not-found';
  if (UNAVAILABLE.test(text)) return 'unavailable';
  return 'other';
}
