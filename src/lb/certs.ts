/**
 * The certificates of `publish.tls`: checked, and turned into the CertRecord every host's
 * HAProxy reads (lb/model.ts; stored in etcd, which only cluster members reach, over mTLS).
 * Pure: the files' contents come in (the CLI reads them relative to the stack file's
 * directory and sends them with the text), problems and records come out. A key is never
 * put in a message.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { Stack } from '../spec/types.js';
import type { ClaimProblem } from './claims.js';
import type { CertRecord } from './model.js';

/** Largest certificate or key file sent with a stack file (a long chain is a few KiB). */
export const MAX_TLS_FILE_BYTES = 64 * 1024;
/** Most files sent with one stack file (two per published service with tls). */
export const MAX_TLS_FILES = 64;

/** How to make a certificate for `name`, for the fixes. */
export const opensslHint = (name: string, cert: string, key: string): string =>
  `openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=${name} -addext subjectAltName=DNS:${name} -keyout ${key} -out ${cert}`;

/** The tls files a stack names, in file order, each once. */
export function tlsFilesOf(stack: Stack): string[] {
  const out = new Set<string>();
  for (const s of Object.values(stack.services)) {
    if (s.publish?.tls) { out.add(s.publish.tls.cert); out.add(s.publish.tls.key); }
  }
  return [...out];
}

export interface CertCheck {
  problems: ClaimProblem[];
  /** By service name, for every service whose tls passed. */
  records: Map<string, CertRecord>;
}

/**
 * Checks every `publish.tls` of the stack. `files`: path as written -> content; `unreadable`:
 * path -> why the CLI could not read it (a path in neither was not sent).
 */
export function checkCerts(stack: Stack, files: Readonly<Record<string, string>>, now: Date, unreadable: Readonly<Record<string, string>> = {}): CertCheck {
  const problems: ClaimProblem[] = [];
  const records = new Map<string, CertRecord>();
  for (const s of Object.values(stack.services)) {
    const tls = s.publish?.tls;
    if (!tls) continue;
    const at = (field: 'cert' | 'key') => ['services', s.name, 'publish', 'tls', field];
    const names = s.publish?.http ?? [];
    const example = names[0] ?? 'site.example.com';
    const make = opensslHint(example, tls.cert, tls.key);
    const read = (field: 'cert' | 'key'): string | undefined => {
      const path = tls[field];
      const text = files[path];
      if (text !== undefined) return text;
      const why = unreadable[path];
      problems.push(why !== undefined
        ? { path: at(field), message: `cannot read ${path}: ${why}`, fix: `give the path of the ${field === 'cert' ? 'certificate' : 'private key'} (PEM), relative to the stack file's directory; to make a self-signed pair: ${make}` }
        : { path: at(field), message: `${path} was not sent with the stack file`, fix: 'apply with the cellblock CLI, which reads tls files relative to the stack file\'s directory and sends them along' });
      return undefined;
    };
    const certPem = read('cert');
    const keyPem = read('key');
    let cert: X509Certificate | undefined;
    if (certPem !== undefined) {
      try {
        if (!certPem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('not PEM');
        cert = new X509Certificate(certPem);
      } catch {
        // the parser's own message says nothing a user can act on
        problems.push({ path: at('cert'), message: `${tls.cert} is not a PEM certificate`, fix: `give the certificate in PEM form (-----BEGIN CERTIFICATE-----); convert a DER one with: openssl x509 -inform der -in site.der -out ${tls.cert}` });
      }
    }
    let key: KeyObject | undefined;
    if (keyPem !== undefined) {
      if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(keyPem)) {
        problems.push({ path: at('key'), message: `${tls.key} is encrypted`, fix: `HAProxy reads keys without a passphrase: decrypt it with openssl pkey -in ${tls.key} -out ${tls.key}.plain and give that file` });
      } else {
        try {
          if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyPem)) throw new Error('not PEM');
          key = createPrivateKey(keyPem);
        } catch {
          // as above: the message could only quote parts of the key
          problems.push({ path: at('key'), message: `${tls.key} is not a PEM private key`, fix: `give the private key in PEM form (-----BEGIN PRIVATE KEY-----), not the certificate; to make a new pair: ${make}` });
        }
      }
    }
    if (!cert) continue;
    const before = problems.length;
    if (key && !cert.checkPrivateKey(key)) {
      problems.push({ path: at('key'), message: `${tls.key} does not match the certificate ${tls.cert}`, fix: `give the key the certificate was made with (compare openssl x509 -noout -pubkey -in ${tls.cert} with openssl pkey -pubout -in ${tls.key})` });
    }
    const notBefore = Date.parse(cert.validFrom);
    const notAfter = Date.parse(cert.validTo);
    if (notAfter < now.getTime()) {
      problems.push({ path: at('cert'), message: `${tls.cert} expired on ${new Date(notAfter).toISOString()}`, fix: `renew it and apply again; a self-signed one for testing: ${make}` });
    } else if (notBefore > now.getTime()) {
      problems.push({ path: at('cert'), message: `${tls.cert} is not valid before ${new Date(notBefore).toISOString()}`, fix: 'use a certificate valid now, or check this host\'s clock' });
    }
    const covered = certNames(cert);
    const missing = names.filter((n) => !covers(cert!, covered, n));
    if (missing.length > 0) {
      problems.push({
        path: at('cert'),
        message: `${tls.cert} does not cover ${missing.join(', ')} (it covers ${covered.join(', ') || 'no host name'})`,
        fix: `use a certificate whose subjectAltName lists every host name of publish.http, for example: ${opensslHint(missing[0]!, tls.cert, tls.key).replace(`subjectAltName=DNS:${missing[0]!}`, `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`)}`,
      });
    }
    if (problems.length > before || !key || keyPem === undefined || certPem === undefined) continue;
    records.set(s.name, {
      certFile: tls.cert, keyFile: tls.key, certPem, keyPem, names: covered,
      notAfter: new Date(notAfter).toISOString(), fingerprint: cert.fingerprint256.replace(/:/g, '').toLowerCase(),
    });
  }
  return { problems, records };
}

/** The host names a certificate names: its DNS subjectAltNames, and the subject's CN. */
export function certNames(cert: X509Certificate): string[] {
  const out = new Set<string>();
  for (const part of (cert.subjectAltName ?? '').split(/,\s*/)) {
    const m = /^DNS:(.+)$/.exec(part.trim());
    if (m) out.add(m[1]!.toLowerCase());
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
  if (cn) out.add(cn.toLowerCase());
  return [...out];
}

/** A name of publish.http is covered by the certificate (wildcards as TLS clients match them). */
function covers(cert: X509Certificate, names: readonly string[], host: string): boolean {
  // a wildcard virtual host needs the same wildcard in the certificate
  if (host.startsWith('*.')) return names.includes(host);
  return cert.checkHost(host) !== undefined;
}
