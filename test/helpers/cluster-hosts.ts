/**
 * What the multi-host tests and the failover benchmark share about their TestHosts (named
 * h0, h1, ... by index): the CLI that fails with the host's agent log, and the report printed
 * when a wait times out (every host's status and the tail of its agent log).
 */
import type { TestHost } from './agent-host.js';

/** The last n lines of an agent log that say more than "request". */
export function agentLogTail(h: TestHost, n = 25): string {
  return h.agentLog.split('\n').filter((l) => !l.includes('"msg":"request"')).slice(-n).join('\n');
}

/** Runs the CLI on host i; a failure throws with its output and the agent's log. */
export async function hostCli(hosts: readonly TestHost[], i: number, args: string[]): Promise<string> {
  const r = await hosts[i]!.cli(args);
  if (r.code !== 0) throw new Error(`h${i}: cellblock ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}\n--- agent log (tail) ---\n${agentLogTail(hosts[i]!)}`);
  return r.stdout;
}

/** Every host's `cellblock status` and agent log tail, for a timed-out wait. */
export async function clusterReport(hosts: readonly TestHost[]): Promise<string> {
  const out: string[] = [];
  for (const [i, h] of hosts.entries()) {
    out.push(`--- h${i} status: ${await h.cli(['status']).then((r) => r.stdout + r.stderr)}`);
    out.push(`--- h${i} agent log:\n${agentLogTail(h, 30)}`);
  }
  return out.join('\n');
}
