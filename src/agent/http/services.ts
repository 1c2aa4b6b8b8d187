/**
 * The narrow services the cluster routes call. The HTTP layer knows nothing else of the
 * agent: no runtime, no store. A service may throw UnavailableError (503) while the part it
 * needs restarts (cluster init, join, leave).
 */
import type { ServerResponse } from 'node:http';
import type {
  ApplyResult, ClusterStatus, ClusterSummary, DeleteResult, HostAction, HostPull, HostRow, HostStateReply, InitRequest, JoinRequest,
  PortsReply, PullResult, PushResult, RemoveReply, RolloutView, ServiceDiff, ServiceStatus, TokenReply, LbStatus,
} from '../../api/contract.js';
import type { Stack } from '../../spec/types.js';
import type { ImageRef } from '../../sys/names.js';

export interface StackApi {
  /** Writes the stack's desired state once every image it names is on some host. */
  /** `text`: the file's text, to point a refusal found against the cluster at its line; `files`: the tls files it names. */
  apply(name: string, file: string, stack: Stack, text?: string, files?: Readonly<Record<string, string>>): Promise<ApplyResult>;
  diff(name: string, stack: Stack, src?: { file?: string; text?: string; files?: Readonly<Record<string, string>> }): Promise<ServiceDiff[]>;
  /** Which of these ports a program of this host listens on (HAProxy's own left out). */
  portsHere(ports: number[]): Promise<PortsReply>;
  remove(name: string): Promise<DeleteResult>;
  status(stack?: string): Promise<ServiceStatus[]>;
}

export interface RolloutApi {
  /** `service` (NAME or STACK/NAME), or a stack's, or every rollout record. */
  list(q: { service?: string; stack?: string }): Promise<RolloutView[]>;
  /** Back to the spec before the last rollout. */
  undo(service: string): Promise<RolloutView>;
}

export interface HostApi {
  rows(): Promise<HostRow[]>;
  control(host: string, action: HostAction): Promise<HostStateReply>;
}

export interface ClusterApi {
  status(): Promise<ClusterStatus>;
  init(o: InitRequest): Promise<ClusterSummary>;
  join(o: JoinRequest): Promise<ClusterSummary & { members: number }>;
  leave(): Promise<ClusterSummary>;
  remove(host: string, o: { force: boolean }): Promise<RemoveReply>;
  token(ttlSeconds?: number): Promise<TokenReply>;
}

export interface PushProgress {
  /** The hosts that will pull, before any pull starts. */
  onTargets?(hosts: string[]): void;
  /** One host's pull, as it ends. */
  onHost?(h: HostPull): void;
}

export interface ImageApi {
  /** Writes the image stream (head included) to `res`, incremental against the newest image in `have`. */
  serve(ref: ImageRef, have: string[], res: ServerResponse): Promise<void>;
  /** Pulls it here from a live holder. */
  pull(ref: ImageRef): Promise<PullResult>;
  /** Has every other live host pull it. */
  push(ref: ImageRef, on?: PushProgress): Promise<PushResult>;
}

export interface LbApi {
  status(): Promise<LbStatus>;
}

export interface ClusterServices {
  stacks: StackApi;
  hosts: HostApi;
  cluster: ClusterApi;
  images: ImageApi;
  rollouts: RolloutApi;
  lb: LbApi;
}
