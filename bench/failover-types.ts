import type { ClusterStatus as ClusterStatusView, HostRow, ReplicaStatus, ServiceStatus } from '../src/api/contract.js';
/** The failover benchmark's options, results and constants (see failover.ts). */

export type { ClusterStatusView, HostRow, ServiceStatus, ReplicaStatus };

export const STACK = 'fo';
export const IMAGE = 'site:v1';
export const GOAL_S = 10;
export const POLL_MS = 100;
/** How long a round may take to reach healthy before it counts as failed. */
export const ROUND_LIMIT_MS = 60_000;
export const CONVERGE_LIMIT_MS = 120_000;

export const stackYaml = `services:
  site:
    image: ${IMAGE}
    replicas: 3
    command: ["/usr/bin/python3", "-m", "http.server", "8080", "--directory", "/app"]
    health:
      http: { port: 8080, path: /index.html }
`;

export const CUT_KINDS = ['non-leader', 'etcd-leader', 'cellblock-leader'] as const;
export type CutKind = (typeof CUT_KINDS)[number];

export interface FailoverOptions {
  rounds?: number;
  poll?: 'api' | 'cli';
  /** Which host each round cuts (default non-leader). */
  cut?: CutKind;
}

export interface RoundLogs {
  placementWritten: number | null; targetActs: number | null; targetDecision: string | null; pulled: { seconds: number; bytes: number } | null;
  /** A new etcd raft leader, from the other hosts' etcd logs (the first "elected leader"). */
  raftElected: { at: number; leader: string } | null;
  /** A new cellblock leader among the other hosts ("elected leader: this agent writes placements"). */
  leaderElected: { at: number; host: string } | null;
  /** Host leases the other hosts lost ("host lease lost"). */
  leasesLost: { at: number; host: string; reason: string }[];
  /** Placement decisions the other hosts logged as leader, until healthy. */
  placements: { at: number; host: string; decision: string }[];
}

export interface RoundResult {
  round: number;
  /** The host whose link was cut, the cellblock leader, the etcd raft leader before the cut. */
  cut: string;
  leader: string;
  etcdLeader: string | null;
  /** The host polled (the cellblock leader's, unless that one was cut). */
  observer: string;
  replica: number | null;
  /** Where the replica went. */
  to: string | null;
  /** Hosts holding the image before the cut. */
  imageHolders: string[];
  /** 'present' (no pull), 'pulled', or null when the replica never got placed. */
  image: 'present' | 'pulled' | null;
  /** Seconds since t0, each as the first poll saw it (null: never seen). */
  detection: number | null;
  placement: number | null;
  pullStart: number | null;
  pullEnd: number | null;
  creating: number | null;
  running: number | null;
  healthy: number | null;
  /** From the agents' logs (ms timestamps), seconds since t0. */
  logs: RoundLogs;
  /** Collateral: other hosts a poll saw down, other replicas a poll saw not healthy (first time each). */
  othersDown: { host: string; at: number }[];
  othersUnhealthy: { replica: number; at: number }[];
  /** The fewest replicas a poll saw healthy on the current spec (2 of 3 when only the cut one is missing). */
  minReady: number | null;
  /** The moved replica answered HTTP 200 from the leader host. */
  answers: boolean | null;
  polls: number;
  pollErrors: number;
  /** Mean time of one poll (both requests), ms: the timeline's resolution is about POLL_MS + this. */
  pollMs: number;
  met: boolean;
  /** Seconds from the link's restore to one healthy replica per host again. */
  converged: number | null;
  error?: string;
}

export interface FailoverResult {
  cut: CutKind;
  rounds: RoundResult[];
  leaseTtlSeconds: number;
  health: { intervalMs: number; timeoutMs: number; threshold: number; startupIntervalMs: number };
  poll: 'api' | 'cli';
  pollIntervalMs: number;
  /** Seconds one `cellblock --json host ls` took here (median of 3), for the --poll choice. */
  cliCallSeconds: number | null;
  setup: { seconds: number; initialPulls: { host: string; seconds: number; bytes: number }[] };
  summary: Record<string, number | null>;
  goalSeconds: number;
  met: boolean;
  load: { before: number[]; after: number[]; otherAgents: number };
  leftovers: string[];
}

/** One poll of the observer: the cut host's state, the cut replica, everything seen. */
export interface Sample { t: number; cutState: string | undefined; r: ReplicaStatus | undefined; states?: HostRow[]; all?: ReplicaStatus[]; ready?: number; error?: string }

export function emptyLogs(): RoundLogs {
  return { placementWritten: null, targetActs: null, targetDecision: null, pulled: null, raftElected: null, leaderElected: null, leasesLost: [], placements: [] };
}
