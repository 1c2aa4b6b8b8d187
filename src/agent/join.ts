/**
 * Joining a host, the serving side: a join listener on the host address (TLS with the host's
 * certificate, no client certificate: the joining host has none yet) takes one route,
 * POST /v1/join, authenticated by a single-use token. It signs the joining host's CSR with
 * the cluster CA, adds it as an etcd member while the cluster has fewer than three, and
 * answers with everything the joining host needs to start.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { joinListenerRequest, type JoinListenerReply } from '../api/contract.js';
import type { Logger } from 'pino';
import { MAX_ETCD_MEMBERS, ETCD_CLIENT_PORT, ETCD_PEER_PORT } from '../cluster/config.js';
import { urlHost } from '../cluster/etcd.js';
import { type HostInfo, type JoinToken } from '../cluster/model.js';
import { K } from '../cluster/keys.js';
import { signCsr, tlsDir, tlsPaths } from '../cluster/pki.js';
import { checkSecret, makeToken, parseToken, secretHash } from '../cluster/token.js';
import type { Member, Store } from '../cluster/store.js';
import { Revert } from '../sys/revert.js';
import { caFingerprint } from '../cluster/pki.js';
import { UserError } from '../sys/errors.js';
import type { Exec } from '../sys/exec.js';
import { checkName } from '../sys/names.js';
import { parseSubnet } from '../jail/ipam.js';
import { DEFAULT_CLUSTER_RANGE, HOST_PREFIX, nextFreeSubnet, overlaps, subnetKeyOf, type ClusterSettings } from '../cluster/subnets.js';

/** The join listener's request and answer, declared once in the API contract. */
export const joinRequestSchema = joinListenerRequest;
export type JoinRequest = z.infer<typeof joinRequestSchema>;
export type JoinResponse = JoinListenerReply;

export const DEFAULT_TOKEN_TTL_SECONDS = 900;

/** A new single-use token, stored as a hash under tokens/<id> on an etcd lease of `ttl`. */
export async function issueToken(store: Store, caPem: Buffer, ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS): Promise<{ token: string; expiresAt: string }> {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 10 || ttlSeconds > 86_400) {
    throw new UserError(`--ttl ${ttlSeconds} is out of range`, 'give a whole number of seconds from 10 to 86400');
  }
  const t = makeToken(caFingerprint(caPem));
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000).toISOString();
  const leaseId = await store.grantLease(ttlSeconds);
  const rec: JoinToken = { secretSha256: secretHash(t.secret), expiresAt };
  await store.putJson(K.token(t.id), rec, leaseId);
  return { token: t.token, expiresAt };
}

const badToken = () => new UserError('the join token is unknown, already used or expired', 'get a fresh one on a cluster host with: cellblock cluster token');

export interface JoinServiceOptions {
  store: Store;
  dataDir: string;
  exec: Exec;
  log: Logger;
  clusterId: string;
}

/** Serves POST /v1/join. */
export async function handleJoin(o: JoinServiceOptions, raw: unknown): Promise<JoinResponse> {
  const r = joinRequestSchema.safeParse(raw);
  if (!r.success) throw new UserError(`join request is invalid at ${r.error.issues[0]!.path.join('.') || '(root)'}: ${r.error.issues[0]!.message}`, 'use the same cellblock version on every host');
  const req = r.data;
  const name = checkName('host', req.name);
  if (isIP(req.address) === 0) throw new UserError(`--advertise ${JSON.stringify(req.address)} is not an IP address`, 'give the address other hosts reach the joining host at');
  const tok = parseToken(req.token);
  const kv = await o.store.get(K.token(tok.id));
  if (!kv) throw badToken();
  const rec = parseJoinToken(kv.value);
  if (!rec) throw badToken();
  if (Date.parse(rec.expiresAt) < Date.now() || !checkSecret(tok.secret, rec.secretSha256)) throw badToken();
  const existing = await o.store.getJson<HostInfo>(K.hostInfo(name));
  if (existing) throw new UserError(`a host named ${name} is already in the cluster (at ${existing.address})`, `join with another --name, or remove the old one first: cellblock cluster remove ${name}`);
  const members = await o.store.members();
  const started = members.filter((m) => m.name !== '');
  if (started.length < members.length) throw new UserError('an etcd member that was added has not started yet', 'wait for the other join to finish (one that fails is undone within a minute), then join again with a fresh token');
  const subnet = await subnetFor(o.store, req.subnet, req.address);
  const net = subnetKeyOf(subnet);

  // single use: only the request that deletes the key unchanged goes on (after the checks
  // above, so a refused join does not use the token up); the subnet is reserved in the same
  // transaction, so two joins at once cannot get the same one
  // (a host of a name that was removed before may join again: its tombstone goes with the token)
  const used = await o.store.txn(
    [{ key: K.token(tok.id), target: 'Mod', op: '==', value: kv.modRevision }, { key: K.subnet(net), target: 'Create', op: '==', value: 0 }],
    [{ delete: K.token(tok.id) }, { delete: K.removed(name) }, { put: K.subnet(net), value: name }],
  );
  if (!used.succeeded) {
    if (!(await o.store.get(K.token(tok.id)))) throw badToken();
    throw new UserError(`jail subnet ${subnet} was taken by another host joining at the same moment`, 'join again (the token was not used)');
  }

  // the token is used and the subnet reserved: a failure from here on gives the subnet back
  // (and removes the learner if one was added); the joining host got no answer to undo with
  return Revert.run(async (revert) => {
    revert.add(`give back jail subnet ${subnet}`, async () => { await o.store.txn([{ key: K.subnet(net), target: 'Value', op: '==', value: name }], [{ delete: K.subnet(net) }]); });
    return answerJoin(o, req, name, subnet, started, members.length, revert);
  });
}

/** The certificate, the etcd membership and the rest of a join's answer (after the token is used). */
async function answerJoin(o: JoinServiceOptions, req: JoinRequest, name: string, subnet: string, started: Member[], memberCount: number, revert: Revert): Promise<JoinResponse> {
  const role: JoinResponse['role'] = memberCount < MAX_ETCD_MEMBERS ? 'member' : 'client';
  const dir = tlsDir(o.dataDir);
  const cert = await signCsr(o.exec, dir, req.csr, { host: name, addresses: [req.address] });
  const p = tlsPaths(dir);
  const ca = await readFile(p.ca, 'utf8');
  const endpoints = started.flatMap((m) => m.clientURLs).filter((u) => !u.includes('127.0.0.1')).sort();
  let initialCluster: string | null = null;
  let caKey: string | null = null;
  let memberId: string | null = null;
  if (role === 'member') {
    const peer = `https://${urlHost(req.address)}:${ETCD_PEER_PORT}`;
    memberId = await o.store.addLearner(peer);
    const id = memberId;
    revert.add('remove the learner just added', () => o.store.removeMember(id));
    initialCluster = [...started.map((m) => `${m.name}=${m.peerURLs[0]}`), `${name}=${peer}`].join(',');
    caKey = await readFile(p.caKey, 'utf8');
    endpoints.push(`https://${urlHost(req.address)}:${ETCD_CLIENT_PORT}`);
  }
  o.log.info({ host: name, address: req.address, role }, 'a host joined the cluster');
  return { clusterId: o.clusterId, ca, cert, caKey, role, initialCluster, memberId, subnet, endpoints };
}

/** The subnet a joining host gets: the one it asks for if no host overlaps it, else the next free /24 of the range. */
async function subnetFor(store: Store, wanted: string | undefined, address: string): Promise<string> {
  const [infos, keys, settings] = await Promise.all([store.listJson<HostInfo>(K.hostsInfo), store.getPrefix(K.subnets), store.getJson<ClusterSettings>(K.settings)]);
  // subnet CIDR -> the host holding it (a reserved key without hostinfo yet counts as a /24)
  const owners = new Map([...infos.map((e) => [e.value.subnet, e.value.name] as const), ...keys.kvs.map((kv) => [`${kv.key.slice(K.subnets.length)}/${HOST_PREFIX}`, kv.value] as const)]);
  const addresses = [address, ...infos.map((e) => e.value.address)];
  if (wanted === undefined) return nextFreeSubnet(settings?.jailRange ?? DEFAULT_CLUSTER_RANGE, [...owners.keys()], addresses);
  const w = parseSubnet('--subnet', wanted);
  for (const [cidr, owner] of owners) {
    if (overlaps(parseSubnet('subnet', cidr), w)) {
      throw new UserError(`jail subnet ${w.cidr} is already used by host ${owner} (${cidr})`, 'join without --subnet (the cluster hands out a free one; the host must have no jails yet), or pick one no other host uses');
    }
  }
  return w.cidr;
}

/** A stored token record, or undefined when it is not one (a damaged key counts as no token). */
function parseJoinToken(text: string): JoinToken | undefined {
  try {
    const v = JSON.parse(text) as Partial<JoinToken>;
    return typeof v.secretSha256 === 'string' && typeof v.expiresAt === 'string' ? (v as JoinToken) : undefined;
  } catch {
    return undefined; // not JSON: no token of ours
  }
}

/** A new cluster id: 12 hex characters. */
export function newClusterId(): string {
  return randomBytes(6).toString('hex');
}
