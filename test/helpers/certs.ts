/** Certificates for tests, made with openssl in a temporary directory (EC keys: fast). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exec } from '../../src/sys/exec.js';

export interface TestPair { cert: string; key: string; certPem: string; keyPem: string }

/** A self-signed certificate for `names` (the first is the CN), valid `days` from now, as files `base`.crt/.key in `dir`. */
export async function makeCert(dir: string, base: string, names: string[], days = 30): Promise<TestPair> {
  const cert = join(dir, `${base}.crt`);
  const key = join(dir, `${base}.key`);
  await exec(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', String(days),
    '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`, '-keyout', key, '-out', cert], { timeoutMs: 30_000 });
  return { cert, key, certPem: await readFile(cert, 'utf8'), keyPem: await readFile(key, 'utf8') };
}

/** `key` encrypted with a passphrase, as `out`. */
export async function encryptKey(key: string, out: string): Promise<string> {
  await exec(['openssl', 'pkey', '-in', key, '-aes256', '-passout', 'pass:secret', '-out', out], { timeoutMs: 30_000 });
  return readFile(out, 'utf8');
}
