/**
 * Join tokens: `cbj1.<id>.<secret>.<ca>`, made by `cellblock cluster token` on a host with
 * the CA and given to `cellblock cluster join` on a new one.
 *
 * - id: 8 hex digits, names the token (stored, listed, revoked);
 * - secret: 32 hex digits (16 random bytes); only its sha256 is stored;
 * - ca: the first 16 hex digits of the sha256 of the CA certificate's DER. The joining host
 *   trusts nothing yet: it reads the CA from the join listener's chain without verifying
 *   (fetchPeerCa), keeps it only if its fingerprint starts with these digits, then connects
 *   again verifying with that CA, and only then sends the secret.
 */
import { X509Certificate, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { connect, type DetailedPeerCertificate } from 'node:tls';
import { UserError } from '../sys/errors.js';
import { caFingerprint } from './pki.js';

export const TOKEN_PREFIX = 'cbj1';
const FIX = 'get a fresh one with: cellblock cluster token';
const HEX = /^[0-9a-f]*$/;

export interface JoinToken { id: string; secret: string; caFpPrefix: string }

export function makeToken(caFp: string): JoinToken & { token: string } {
  const fp = caFp.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(fp)) throw new Error(`makeToken: not a sha256 fingerprint: ${caFp}`);
  const id = randomBytes(4).toString('hex');
  const secret = randomBytes(16).toString('hex');
  const caFpPrefix = fp.slice(0, 16);
  return { id, secret, caFpPrefix, token: `${TOKEN_PREFIX}.${id}.${secret}.${caFpPrefix}` };
}

/** Parses a token. Messages never repeat the secret. */
export function parseToken(s: string): JoinToken {
  const t = typeof s === 'string' ? s.trim() : '';
  if (t === '') throw new UserError('the join token is empty', FIX);
  const parts = t.split('.');
  if (parts[0] !== TOKEN_PREFIX) throw new UserError(`this is not a cellblock join token: it should start with "${TOKEN_PREFIX}."`, FIX);
  if (parts.length !== 4) throw new UserError(`the join token has ${parts.length} parts separated by ".", not 4 (${TOKEN_PREFIX}.ID.SECRET.CA): it may be cut short`, FIX);
  const [, id, secret, ca] = parts as [string, string, string, string];
  const part = (name: string, v: string, len: number): string => {
    if (v.length !== len || !HEX.test(v)) {
      throw new UserError(`the join token's ${name} should be ${len} lowercase hex digits, it has ${v.length} characters${HEX.test(v) ? '' : ' with some not hex digits'}`, FIX);
    }
    return v;
  };
  return { id: part('id', id, 8), secret: part('secret', secret, 32), caFpPrefix: part('CA fingerprint', ca, 16) };
}

/** What is stored for a token: sha256 of its secret, lowercase hex. */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** True when secret hashes to hash; constant time in the secret. */
export function checkSecret(secret: string, hash: string): boolean {
  if (typeof secret !== 'string' || typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) return false;
  return timingSafeEqual(Buffer.from(secretHash(secret), 'hex'), Buffer.from(hash, 'hex'));
}

function derToPem(der: Buffer): string {
  const b64 = der.toString('base64').match(/.{1,64}/g)!.join('\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/**
 * Reads the CA from the chain a join listener presents, without trusting it yet, and returns
 * its PEM if its fingerprint starts with fpPrefix (from the token). The peer's certificate must
 * be issued and signed by that CA, which must be self-signed. Nothing is sent but the handshake.
 */
export function fetchPeerCa(address: string, port: number, fpPrefix: string, opts: { timeoutMs?: number } = {}): Promise<string> {
  const where = `${address.includes(':') ? `[${address}]` : address}:${port}`;
  if (isIP(address) === 0) return Promise.reject(new UserError(`invalid address ${JSON.stringify(address)}`, 'give the IP address of a host of the cluster'));
  if (!Number.isInteger(port) || port < 1 || port > 65535) return Promise.reject(new UserError(`invalid port ${String(port)}`, 'give a port from 1 to 65535'));
  const prefix = fpPrefix.toLowerCase();
  if (!/^[0-9a-f]{16,64}$/.test(prefix)) return Promise.reject(new UserError(`invalid CA fingerprint prefix ${JSON.stringify(fpPrefix)}`, FIX));
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise<string>((resolve, reject) => {
    let done = false;
    const finish = (err: Error | undefined, pem?: string) => {
      if (done) return;
      done = true;
      socket.destroy();
      if (err) reject(err);
      else resolve(pem!);
    };
    // rejectUnauthorized: false is the point: the CA is checked against the token below.
    const socket = connect({ host: address, port, rejectUnauthorized: false, timeout: timeoutMs }, () => {
      try {
        finish(undefined, caFromChain(socket.getPeerCertificate(true), where, prefix));
      } catch (e) {
        finish(e as Error);
      }
    });
    socket.on('timeout', () => finish(new UserError(`no TLS answer from ${where} within ${timeoutMs / 1000} s`, 'check the address and port, and that the cellblock agent runs on that host')));
    socket.on('error', (e: NodeJS.ErrnoException) => finish(new UserError(`cannot reach the join listener at ${where}: ${e.code ?? e.message}`, 'check the address and port, and that the cellblock agent runs on that host')));
  });
}

function caFromChain(leaf: DetailedPeerCertificate | undefined, where: string, prefix: string): string {
  const issuer = leaf?.issuerCertificate as DetailedPeerCertificate | undefined;
  if (!leaf?.raw || !issuer?.raw || issuer.raw.equals(leaf.raw)) {
    throw new UserError(`the host at ${where} presents no CA certificate with its own`, 'check that the address and port are those of a cellblock join listener');
  }
  const caPem = derToPem(issuer.raw);
  const fp = caFingerprint(caPem);
  if (!fp.startsWith(prefix)) {
    throw new UserError(
      `the host at ${where} presents a CA whose fingerprint does not match the token (${fp.slice(0, 16)}..., the token wants ${prefix.slice(0, 16)}...)`,
      `check the address is a host of the cluster that made the token, or ${FIX}`,
    );
  }
  const ca = new X509Certificate(caPem);
  const cert = new X509Certificate(leaf.raw);
  if (!ca.ca || !ca.checkIssued(ca) || !ca.verify(ca.publicKey) || !cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new UserError(`the host at ${where} presents a certificate not signed by the CA of the token`, `check the address is a host of the cluster that made the token, or ${FIX}`);
  }
  return caPem;
}
