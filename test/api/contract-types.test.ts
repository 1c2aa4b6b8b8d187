// The contract's types and the types the services behind it return are the same, checked by
// the compiler: a field added on one side and not the other fails the build, not a request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as C from '../../src/api/contract.js';
import type { ExecOutput, ExecRequest, JailCreateRequest, JailInspect, JailView } from '../../src/jail/service.js';
import type { ReplicaStatus, ServiceDiff, ServiceStatus } from '../../src/cluster/stacks.js';
import type { PullResult } from '../../src/agent/images.js';
import type { ClusterSummary } from '../../src/agent/cluster-ops.js';
import type { JoinRequest, JoinResponse } from '../../src/agent/join.js';
import type { BodyOf, ReplyOf } from '../../src/api/contract.js';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const same = <A, B>(ok: Same<A, B>): boolean => ok;

test('the contract agrees with the services\' own types', () => {
  const checks = [
    same<BodyOf<'jailCreate'>, JailCreateRequest>(true),
    same<BodyOf<'jailExec'>, ExecRequest>(true),
    same<C.JailView, JailView>(true),
    same<C.JailInspect, JailInspect>(true),
    same<ReplyOf<'jailExec'>, ExecOutput>(true),
    same<C.ServiceDiff, ServiceDiff>(true),
    same<C.ReplicaStatus, ReplicaStatus>(true),
    same<C.ServiceStatus, ServiceStatus>(true),
    same<C.PullResult, PullResult>(true),
    same<C.ClusterSummary, ClusterSummary>(true),
    same<C.JoinListenerReply, JoinResponse>(true),
    same<import('zod').infer<typeof import('../../src/api/contract.js').joinListenerRequest>, JoinRequest>(true),
  ];
  assert.ok(checks.every(Boolean));
});
