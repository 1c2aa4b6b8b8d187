/**
 * The cluster's certificate authority and each host's certificate, for mTLS between agents
 * and for etcd's clients and peers. Certificates are made by the openssl CLI (Debian's
 * openssl 3) through exec(): this file builds its argument arrays and extension file, and
 * only reads certificates with node:crypto.
 *
 * DATA_DIR/cluster/tls (0700):
 *   ca.crt    the cluster CA (every host)
 *   ca.key    the CA's key (0600): made by `cluster init`, given to every host that joins as an
 *             etcd member (any member signs joins); etcd client hosts do not have it
 *   host.key  this host's key (0600)
 *   host.crt  this host's certificate, signed by the CA; serverAuth and clientAuth
 */
import { X509Certificate, createHash, createPrivateKey, randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { checkServerIdentity as nodeCheckServerIdentity, type TLSSocket } from 'node:tls';
import { join } from 'node:path';
import type { Exec } from '../sys/exec.js';
import { ExistsError, UserError } from '../sys/errors.js';
import { exists } from '../sys/fsutil.js';
import { checkName } from '../sys/names.js';
import { clusterDir } from './config.js';
import type { EtcdTlsFiles } from './etcd.js';

/** The CA lives 10 years; host certificates default to the same, cut to the CA's own end. */
export const CA_DAYS = 3650;
export const HOST_CERT_DAYS = 3650;
/** A CSR from a joining host is a few hundred bytes; anything near this is not ours. */
const MAX_CSR_BYTES = 16 * 1024;
const CLUSTER_ID_RE = /^[a-f0-9]{12}$/;
const CSR_PEM_RE = /^-----BEGIN CERTIFICATE REQUEST-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE REQUEST-----\s*$/;
const FIX_NOT_IN_CLUSTER = 'run cellblock cluster init or join';

export function tlsDir(dataDir: string): string {
  return join(clusterDir(dataDir), 'tls');
}

export interface TlsPaths { dir: string; ca: string; caKey: string; key: string; cert: string }

export function tlsPaths(dir: string): TlsPaths {
  return { dir, ca: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), key: join(dir, 'host.key'), cert: join(dir, 'host.crt') };
}

/** The files etcd's --trusted-ca-file, --cert-file and --key-file (and the peer ones) name. */
export function etcdTlsFiles(dir: string): EtcdTlsFiles {
  const p = tlsPaths(dir);
  return { caFile: p.ca, certFile: p.cert, keyFile: p.key };
}

// ---- argv builders (pure) ----

/** An EC P-256 private key (PKCS#8 PEM) on stdout. */
export function genKeyArgv(): string[] {
  return ['openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-pkeyopt', 'ec_param_enc:named_curve'];
}

/**
 * A self-signed CA certificate on stdout. `-config /dev/null`: no extension or DN defaults
 * from the system's openssl.cnf; the extensions are exactly the -addext ones.
 */
export function caCertArgv(keyPath: string, clusterId: string, days = CA_DAYS): string[] {
  return [
    'openssl', 'req', '-x509', '-new', '-key', keyPath, '-sha256', '-days', String(days),
    '-subj', `/CN=cellblock cluster ${clusterId}`, '-config', '/dev/null',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-addext', 'subjectKeyIdentifier=hash',
  ];
}

/** A CSR with CN = host on stdout (no extensions: the signer sets them). */
export function csrArgv(keyPath: string, host: string): string[] {
  return ['openssl', 'req', '-new', '-key', keyPath, '-sha256', '-subj', `/CN=${host}`, '-config', '/dev/null'];
}

export interface SignArgs { csrPath: string; caCert: string; caKey: string; extPath: string; host: string; serialHex: string; days: number }

/**
 * Signs a CSR, certificate on stdout. `x509 -req` checks the CSR's self-signature and copies
 * none of its extensions (no -copy_extensions); -subj replaces whatever subject it asked for.
 * -set_serial: without it x509 reads or creates a ca.srl file next to the CA.
 * -days is always given: x509's default is 30.
 */
export function signArgv(a: SignArgs): string[] {
  return [
    'openssl', 'x509', '-req', '-in', a.csrPath, '-CA', a.caCert, '-CAkey', a.caKey,
    '-set_serial', `0x${a.serialHex}`, '-days', String(a.days), '-sha256', '-subj', `/CN=${a.host}`,
    '-extfile', a.extPath, '-extensions', 'ext',
  ];
}

/** The extension section of a host certificate; host and addresses must be checked first. */
export function hostExtensions(host: string, addresses: readonly string[]): string {
  const ips = [...new Set([...addresses, '127.0.0.1'])];
  const san = [...ips.map((a) => `IP:${a}`), `DNS:${host}`, 'DNS:localhost'].join(',');
  return [
    '[ext]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature',
    'extendedKeyUsage = serverAuth,clientAuth',
    `subjectAltName = ${san}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
    '',
  ].join('\n');
}

/** 16 random bytes, positive (top bit clear) and never with a leading zero byte. */
export function randomSerial(bytes = randomBytes(16)): string {
  const b = Buffer.from(bytes);
  b[0] = (b[0]! & 0x3f) | 0x40;
  return b.toString('hex');
}

// ---- checks ----

export function checkAddresses(addresses: readonly unknown[]): string[] {
  return addresses.map((a) => {
    if (typeof a !== 'string' || isIP(a) === 0 || a.includes('%')) {
      throw new UserError(`invalid host address ${JSON.stringify(a)}`, 'give an IPv4 or IPv6 address such as 10.0.0.5 (no host names, no %zone)');
    }
    return a;
  });
}

function checkClusterId(id: string): string {
  if (!CLUSTER_ID_RE.test(id)) throw new UserError(`invalid cluster id ${JSON.stringify(id)}`, 'a cluster id is 12 lowercase hex digits');
  return id;
}

function checkCsrPem(pem: unknown): string {
  if (typeof pem !== 'string' || pem.length > MAX_CSR_BYTES || !CSR_PEM_RE.test(pem)) {
    throw new UserError('the certificate request is not a PEM CSR', 'send the request made by cellblock cluster join');
  }
  return pem;
}

// ---- files ----

async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** Writes through a temporary name and a rename: a reader sees the old file or the whole new one. */
async function writeAtomic(path: string, data: string | Buffer, mode: number): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data, { mode });
    await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Runs fn with a fresh private (0700) directory inside `dir`, removed afterwards whatever happens. */
async function withScratch<T>(dir: string, fn: (scratch: string) => Promise<T>): Promise<T> {
  const scratch = await mkdtemp(join(dir, '.scratch-'));
  try {
    return await fn(scratch);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

// ---- operations ----

/**
 * Creates the cluster CA in `dir`: ca.key and ca.crt. Refuses to replace an existing CA
 * (every host's certificate hangs on it). Both files appear only once both were made.
 */
export async function createCa(exec: Exec, dir: string, clusterId: string): Promise<{ caPem: string; fingerprint: string }> {
  checkClusterId(clusterId);
  const p = tlsPaths(dir);
  await ensureDir(dir);
  for (const f of [p.caKey, p.ca]) {
    if (await exists(f)) throw new ExistsError(`${f} already exists: this host already has a cluster CA`, 'run cellblock cluster leave first to start a new cluster');
  }
  return withScratch(dir, async (scratch) => {
    const key = join(scratch, 'ca.key');
    const crt = join(scratch, 'ca.crt');
    await writeFile(key, (await exec(genKeyArgv())).stdout, { mode: 0o600 });
    const caPem = (await exec(caCertArgv(key, clusterId))).stdout;
    const fingerprint = caFingerprint(caPem);
    await writeFile(crt, caPem, { mode: 0o644 });
    await rename(key, p.caKey);
    try {
      await rename(crt, p.ca);
    } catch (e) {
      await rm(p.caKey, { force: true });
      throw e;
    }
    return { caPem, fingerprint };
  });
}

/** Makes this host's key (host.key, replacing any) and returns a CSR for it with CN = hostName. */
export async function createKeyAndCsr(exec: Exec, dir: string, hostName: string): Promise<string> {
  const host = checkName('host', hostName);
  const p = tlsPaths(dir);
  await ensureDir(dir);
  await writeAtomic(p.key, (await exec(genKeyArgv())).stdout, 0o600);
  return (await exec(csrArgv(p.key, host))).stdout;
}

export interface SignOptions { host: string; addresses: readonly string[]; days?: number }

/**
 * Signs a host's CSR with the CA in caDir and returns the certificate PEM. Only the CSR's
 * key is used: subject (CN = host) and extensions (SANs for the addresses, 127.0.0.1, the
 * host name and localhost; serverAuth and clientAuth; CA:FALSE) are ours. Everything is
 * checked before openssl runs; the CSR and extension file go to a private scratch dir.
 */
export async function signCsr(exec: Exec, caDir: string, csrPem: string, opts: SignOptions): Promise<string> {
  const host = checkName('host', opts.host);
  const addresses = checkAddresses(opts.addresses);
  const csr = checkCsrPem(csrPem);
  const wanted = opts.days ?? HOST_CERT_DAYS;
  if (!Number.isInteger(wanted) || wanted < 1 || wanted > CA_DAYS) {
    throw new UserError(`invalid certificate lifetime ${String(wanted)} days`, `give a whole number of days from 1 to ${CA_DAYS}`);
  }
  const p = tlsPaths(caDir);
  const caPem = await readPem(p.ca, 'the cluster CA certificate');
  if (!(await exists(p.caKey))) {
    throw new UserError(`${p.caKey} is missing: only the host that ran cellblock cluster init and the hosts that joined as etcd members can sign certificates`, 'join through one of those hosts (cellblock cluster status lists the etcd members)');
  }
  const days = Math.min(wanted, caDaysLeft(caPem, p.ca));
  return withScratch(caDir, async (scratch) => {
    const csrPath = join(scratch, 'host.csr');
    const extPath = join(scratch, 'ext.cnf');
    await writeFile(csrPath, csr, { mode: 0o600 });
    await writeFile(extPath, hostExtensions(host, addresses), { mode: 0o600 });
    const argv = signArgv({ csrPath, caCert: p.ca, caKey: p.caKey, extPath, host, serialHex: randomSerial(), days });
    return (await exec(argv)).stdout;
  });
}

/** Whole days until the CA expires; a UserError once it has. */
function caDaysLeft(caPem: string | Buffer, path: string, now = Date.now()): number {
  const end = new Date(new X509Certificate(caPem).validTo).getTime();
  const days = Math.floor((end - now) / 86_400_000);
  if (days < 1) throw new UserError(`the cluster CA ${path} expires on ${new Date(end).toISOString()}`, 'the cluster needs a new CA: create a new cluster and move the services to it');
  return days;
}

/**
 * For the host holding the CA (cluster init): its own key and certificate in `dir`. With a
 * separate `caDir`, ca.crt is copied into `dir` as well.
 */
export async function issueHostCert(exec: Exec, dir: string, opts: SignOptions & { caDir?: string }): Promise<string> {
  const caDir = opts.caDir ?? dir;
  const host = checkName('host', opts.host);
  checkAddresses(opts.addresses);
  const csr = await createKeyAndCsr(exec, dir, host);
  const cert = await signCsr(exec, caDir, csr, opts);
  const p = tlsPaths(dir);
  if (caDir !== dir) await copyFile(tlsPaths(caDir).ca, p.ca);
  await writeAtomic(p.cert, cert, 0o644);
  return cert;
}

/**
 * For a joining host: stores the certificate it was given and the CA, after checking that
 * the certificate is for host.key and was issued by that CA.
 */
export async function writeHostCert(dir: string, given: { ca: string; cert: string }): Promise<void> {
  const p = tlsPaths(dir);
  const key = createPrivateKey(await readPem(p.key, 'this host\'s key'));
  const ca = new X509Certificate(given.ca);
  const cert = new X509Certificate(given.cert);
  if (!cert.checkPrivateKey(key)) throw new UserError(`the certificate received is not for ${p.key}`, 'run cellblock cluster join again');
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) throw new UserError('the certificate received was not issued by the cluster CA', 'run cellblock cluster join again');
  await writeAtomic(p.ca, given.ca, 0o644);
  await writeAtomic(p.cert, given.cert, 0o644);
}

/** sha256 of the certificate's DER, lowercase hex. */
export function caFingerprint(pem: string | Buffer): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

async function readPem(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`${what} ${path} is missing`, FIX_NOT_IN_CLUSTER);
    throw e;
  }
}

// ---- TLS options ----

export interface TlsMaterial { ca: Buffer; cert: Buffer; key: Buffer }

export async function readTls(dir: string): Promise<TlsMaterial> {
  const p = tlsPaths(dir);
  const [ca, cert, key] = await Promise.all([
    readPem(p.ca, 'the cluster CA certificate'),
    readPem(p.cert, 'this host\'s certificate'),
    readPem(p.key, 'this host\'s key'),
  ]);
  return { ca, cert, key };
}

/**
 * For node https/tls servers: a client must present a certificate from the cluster CA.
 * The CA follows the host certificate in `cert` so that every client gets the whole chain
 * (a joining host reads the CA from it: see fetchPeerCa).
 */
export function tlsServerOptions(t: TlsMaterial) {
  return {
    ca: t.ca,
    cert: Buffer.concat([t.cert, Buffer.from('\n'), t.ca]),
    key: t.key,
    requestCert: true as const,
    rejectUnauthorized: true as const,
    minVersion: 'TLSv1.2' as const,
  };
}

/**
 * For the join listener: it presents the host certificate and the CA (the chain a joining
 * host reads with fetchPeerCa) but asks for no client certificate: a joining host has none
 * yet and proves itself with the token's secret.
 */
export function tlsJoinServerOptions(t: TlsMaterial) {
  const { requestCert: _r, rejectUnauthorized: _u, ...rest } = tlsServerOptions(t);
  return { ...rest, requestCert: false as const };
}

/**
 * For https.request / tls.connect to another host: trust only the cluster CA, present our
 * certificate. Node's own checkServerIdentity is the one wanted: reached by IP, the
 * certificate must carry that IP as a SAN (every host certificate has its addresses and
 * 127.0.0.1); reached by name, a DNS SAN. It is named here so no caller replaces it.
 */
export function tlsClientOptions(t: TlsMaterial) {
  return {
    ca: t.ca,
    cert: t.cert,
    key: t.key,
    rejectUnauthorized: true as const,
    minVersion: 'TLSv1.2' as const,
    checkServerIdentity: nodeCheckServerIdentity,
  };
}

/** The CN of the verified client certificate on a TLS socket, or undefined. */
export function peerName(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const cn = socket.getPeerCertificate()?.subject?.CN as string | string[] | undefined;
  return Array.isArray(cn) ? cn[0] : cn || undefined;
}
