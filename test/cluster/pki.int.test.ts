/**
 * The cluster CA with the real openssl, and mTLS between node https servers and clients on
 * 127.0.0.1. Every file lives under one temporary dir, removed in after().
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { request as httpsRequest, createServer as createHttpsServer, type RequestOptions, type Server } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import {
  caFingerprint, createCa, createKeyAndCsr, genKeyArgv, issueHostCert, peerName, readTls, signCsr,
  tlsClientOptions, tlsJoinServerOptions, tlsPaths, tlsServerOptions, writeHostCert, type TlsMaterial,
} from '../../src/cluster/pki.js';
import { fetchPeerCa } from '../../src/cluster/token.js';
import { exec, type Exec } from '../../src/sys/exec.js';
import { ExistsError, UserError } from '../../src/sys/errors.js';

const skip = process.getuid?.() !== 0 && 'needs root';

/** An exec that records every argv; with no delegate it runs nothing. */
function recording(delegate?: Exec): { calls: string[][]; exec: Exec } {
  const calls: string[][] = [];
  return {
    calls,
    exec: async (argv, opts) => {
      calls.push([...argv]);
      if (!delegate) throw new Error(`nothing should have run, but got: ${argv.join(' ')}`);
      return delegate(argv, opts);
    },
  };
}

async function noScratchLeft(dir: string): Promise<void> {
  assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('.scratch-') || n.endsWith('.tmp')), []);
}

const mode = async (p: string) => (await stat(p)).mode & 0o777;

describe('cluster PKI with openssl', { skip }, () => {
  let root: string;
  /** cluster A: the CA host h1 (dirA) and a joined host h2 (dirJ); cluster B: host other (dirB). */
  let dirA: string, dirJ: string, dirB: string;
  let a: TlsMaterial, j: TlsMaterial, b: TlsMaterial;
  /** A self-signed leaf calling itself h1 (not from any CA). */
  let selfSigned: TlsMaterial;
  let caA: { caPem: string; fingerprint: string };
  const servers: Server[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'cellblock-pki-'));
    dirA = join(root, 'a', 'cluster', 'tls');
    dirJ = join(root, 'j', 'cluster', 'tls');
    dirB = join(root, 'b', 'cluster', 'tls');
    caA = await createCa(exec, dirA, 'aaaaaaaaaaaa');
    await issueHostCert(exec, dirA, { host: 'h1', addresses: ['10.0.0.5', 'fd00::1'] });
    // the join flow: the new host makes its key and CSR, the CA host signs, the new host stores
    const csr = await createKeyAndCsr(exec, dirJ, 'h2');
    const cert = await signCsr(exec, dirA, csr, { host: 'h2', addresses: ['10.0.0.6'] });
    await writeHostCert(dirJ, { ca: caA.caPem, cert });
    await createCa(exec, dirB, 'bbbbbbbbbbbb');
    await issueHostCert(exec, dirB, { host: 'other', addresses: ['10.0.0.9'] });
    [a, j, b] = await Promise.all([readTls(dirA), readTls(dirJ), readTls(dirB)]);
    const sdir = join(root, 'self');
    await mkdir(sdir);
    await writeFile(join(sdir, 'k.pem'), (await exec(genKeyArgv())).stdout, { mode: 0o600 });
    const ssCert = (await exec(['openssl', 'req', '-x509', '-new', '-key', join(sdir, 'k.pem'), '-days', '2', '-subj', '/CN=h1', '-config', '/dev/null',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-addext', 'extendedKeyUsage=serverAuth,clientAuth'])).stdout;
    selfSigned = { ca: Buffer.from(ssCert), cert: Buffer.from(ssCert), key: await readFile(join(sdir, 'k.pem')) };
  });

  after(async () => {
    await Promise.all(servers.map((s) => new Promise<void>((r) => {
      s.close(() => r());
      (s as Partial<Server>).closeAllConnections?.();
    })));
    await rm(root, { recursive: true, force: true });
  });

  test('the CA and host certificates verify with openssl and carry the SANs and usages', async () => {
    const p = tlsPaths(dirA);
    const v = await exec(['openssl', 'verify', '-CAfile', p.ca, p.cert, tlsPaths(dirJ).cert]);
    assert.equal(v.stdout, `${p.cert}: OK\n${tlsPaths(dirJ).cert}: OK\n`);
    await assert.rejects(exec(['openssl', 'verify', '-CAfile', tlsPaths(dirB).ca, p.cert]), /unable to get local issuer certificate/);

    const ca = new X509Certificate(a.ca);
    assert.equal(ca.subject, 'CN=cellblock cluster aaaaaaaaaaaa');
    assert.equal(ca.issuer, ca.subject);
    assert.equal(ca.ca, true);
    assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const years = (Date.parse(ca.validTo) - Date.parse(ca.validFrom)) / (365.25 * 86_400_000);
    assert.ok(years > 9.9 && years < 10.1, `CA lifetime ${years} years`);
    const caText = (await exec(['openssl', 'x509', '-in', p.ca, '-noout', '-text'])).stdout;
    assert.match(caText, /Basic Constraints: critical\n\s+CA:TRUE/);
    assert.match(caText, /Key Usage: critical\n\s+Certificate Sign, CRL Sign/);
    assert.equal(caA.fingerprint, caFingerprint(a.ca));
    const osslFp = (await exec(['openssl', 'x509', '-in', p.ca, '-noout', '-fingerprint', '-sha256'])).stdout;
    assert.equal(osslFp.trim(), `sha256 Fingerprint=${caA.fingerprint.toUpperCase().match(/../g)!.join(':')}`);

    const h1 = new X509Certificate(a.cert);
    assert.equal(h1.subject, 'CN=h1');
    assert.equal(h1.ca, false);
    assert.equal(h1.subjectAltName, 'IP Address:10.0.0.5, IP Address:FD00:0:0:0:0:0:0:1, IP Address:127.0.0.1, DNS:h1, DNS:localhost');
    assert.deepEqual(h1.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']); // serverAuth, clientAuth
    assert.ok(h1.checkIssued(ca) && h1.verify(ca.publicKey));
    assert.equal(h1.checkHost('h1'), 'h1');
    assert.equal(h1.checkIP('10.0.0.5'), '10.0.0.5');
    assert.equal(h1.checkIP('10.0.0.6'), undefined);
    const h2 = new X509Certificate(j.cert);
    assert.equal(h2.subjectAltName, 'IP Address:10.0.0.6, IP Address:127.0.0.1, DNS:h2, DNS:localhost');
    assert.notEqual(h1.serialNumber, h2.serialNumber);
    // the joined host got the CA, not its key
    assert.deepEqual((await readdir(dirJ)).sort(), ['ca.crt', 'host.crt', 'host.key']);
    assert.deepEqual((await readdir(dirA)).sort(), ['ca.crt', 'ca.key', 'host.crt', 'host.key']);
  });

  test('keys are 0600 in a 0700 dir; nothing is left in the scratch dirs', async () => {
    for (const d of [dirA, dirJ, dirB]) {
      assert.equal(await mode(d), 0o700, d);
      assert.equal(await mode(tlsPaths(d).key), 0o600);
      await noScratchLeft(d);
    }
    assert.equal(await mode(tlsPaths(dirA).caKey), 0o600);
  });

  test('a CSR\'s own subject and extensions are ignored: ours are set', async () => {
    const d = join(root, 'evil');
    await mkdir(d);
    await writeFile(join(d, 'k.pem'), (await exec(genKeyArgv())).stdout, { mode: 0o600 });
    const csr = (await exec(['openssl', 'req', '-new', '-key', join(d, 'k.pem'), '-subj', '/CN=h1/O=admins', '-config', '/dev/null',
      '-addext', 'subjectAltName=DNS:evil.example,IP:10.6.6.6', '-addext', 'basicConstraints=critical,CA:TRUE'])).stdout;
    assert.match((await exec(['openssl', 'req', '-in', '-', '-noout', '-text'], { input: csr })).stdout, /CA:TRUE/);
    const cert = new X509Certificate(await signCsr(exec, dirA, csr, { host: 'h3', addresses: ['10.0.0.7'], days: 5 }));
    assert.equal(cert.subject, 'CN=h3');
    assert.equal(cert.ca, false);
    assert.equal(cert.subjectAltName, 'IP Address:10.0.0.7, IP Address:127.0.0.1, DNS:h3, DNS:localhost');
    const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
    assert.equal(days, 5);
    await noScratchLeft(dirA);
  });

  test('a CSR with a broken self-signature is refused by openssl, and the scratch dir is still removed', async () => {
    const csr = await createKeyAndCsr(exec, join(root, 'broken'), 'h4');
    // flip the last byte of the DER: the end of the signature, the structure stays valid
    const der = Buffer.from(csr.replace(/-----[A-Z ]+-----/g, '').replace(/\s/g, ''), 'base64');
    der[der.length - 1] ^= 0x01;
    const bad = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`;
    await assert.rejects(signCsr(exec, dirA, bad, { host: 'h4', addresses: [] }), /command failed: openssl x509 -req .*self-signature/s);
    await noScratchLeft(dirA);
  });

  test('bad names, addresses and CSRs are refused before openssl runs', async () => {
    const rec = recording();
    const csr = await createKeyAndCsr(exec, join(root, 'valid-csr'), 'h5');
    const refuse = async (p: Promise<unknown>, re: RegExp) => {
      await assert.rejects(p, (e: unknown) => e instanceof UserError && re.test(e.message) && !!e.fix);
    };
    for (const host of ['Bad Host', '../etc', 'h1/CN=admin', 'h1\n[ext]', '', '-h']) {
      await refuse(signCsr(rec.exec, dirA, csr, { host, addresses: [] }), /host name/);
      await refuse(createKeyAndCsr(rec.exec, join(root, 'never'), host), /host name/);
      await refuse(issueHostCert(rec.exec, join(root, 'never'), { host, addresses: [] }), /host name/);
    }
    for (const address of ['10.0.0.1,DNS:evil', 'example.com', 'fe80::1%eth0', '10.0.0.1\nbasicConstraints = CA:TRUE', '10.0.0.256']) {
      await refuse(signCsr(rec.exec, dirA, csr, { host: 'h5', addresses: [address] }), /invalid host address/);
      await refuse(issueHostCert(rec.exec, join(root, 'never'), { host: 'h5', addresses: [address] }), /invalid host address/);
    }
    for (const bad of ['', 'hello', csr.replace('REQUEST', 'REQUEZT'), csr + '\n-----BEGIN CERTIFICATE REQUEST-----\n' + 'A'.repeat(20_000) + '\n-----END CERTIFICATE REQUEST-----\n']) {
      await refuse(signCsr(rec.exec, dirA, bad, { host: 'h5', addresses: [] }), /not a PEM CSR/);
    }
    for (const days of [0, -1, 1.5, 3651]) await refuse(signCsr(rec.exec, dirA, csr, { host: 'h5', addresses: [], days }), /lifetime/);
    await refuse(createCa(rec.exec, join(root, 'never'), 'NOT-AN-ID'), /invalid cluster id/);
    // a second CA over the first is refused
    await assert.rejects(createCa(rec.exec, dirA, 'cccccccccccc'), (e: unknown) => e instanceof ExistsError && /ca\.key already exists/.test(e.message));
    // signing needs the CA key: the joined host has only the certificate
    await refuse(signCsr(rec.exec, dirJ, csr, { host: 'h5', addresses: [] }), /ca\.key is missing/);
    assert.deepEqual(rec.calls, []);
    await noScratchLeft(dirA);
    await assert.rejects(stat(join(root, 'never')), { code: 'ENOENT' });
  });

  test('readTls names a missing file and the fix; writeHostCert refuses a certificate not for its key or CA', async () => {
    await assert.rejects(readTls(join(root, 'nothing')), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /nothing\/ca\.crt is missing/);
      assert.equal(e.fix, 'run cellblock cluster init or join');
      return true;
    });
    const d = join(root, 'w');
    await createKeyAndCsr(exec, d, 'h6');
    await assert.rejects(writeHostCert(d, { ca: caA.caPem, cert: j.cert.toString() }), /not for .*host\.key/);
    const csr = await createKeyAndCsr(exec, d, 'h6');
    const cert = await signCsr(exec, dirA, csr, { host: 'h6', addresses: [] });
    await assert.rejects(writeHostCert(d, { ca: b.ca.toString(), cert }), /not issued by the cluster CA/);
    await assert.rejects(readTls(d), /w\/ca\.crt is missing/);
    await writeHostCert(d, { ca: caA.caPem, cert });
    assert.equal((await readTls(d)).cert.toString(), cert);
  });

  // ---- mTLS ----

  async function listen(s: Server): Promise<number> {
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return (s.address() as AddressInfo).port;
  }

  function get(port: number, opts: RequestOptions): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, path: '/', agent: false, ...opts }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { body += c; });
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  describe('an https server with tlsServerOptions', () => {
    let port: number;
    let handled = 0;
    const tlsErrors: string[] = [];
    before(async () => {
      const s = createHttpsServer(tlsServerOptions(a), (req, res) => {
        handled++;
        res.end(`hello ${peerName(req.socket as TLSSocket)}`);
      });
      s.on('tlsClientError', (e: NodeJS.ErrnoException) => tlsErrors.push(e.code ?? e.message));
      port = await listen(s);
    });

    test('a client with a certificate from the same CA gets 200, and its CN is the peer name', async () => {
      assert.deepEqual(await get(port, tlsClientOptions(j)), { status: 200, body: 'hello h2' });
      assert.deepEqual(await get(port, tlsClientOptions(a)), { status: 200, body: 'hello h1' });
      assert.deepEqual(await get(port, { ...tlsClientOptions(j), maxVersion: 'TLSv1.2' }), { status: 200, body: 'hello h2' });
    });

    /**
     * The request fails at the TLS layer: the client gets an error and no response, the
     * handler never runs, and the server reports a TLS client error (the connection ended
     * before it was secure). Node checks a client certificate after OpenSSL's handshake and
     * then destroys the socket, so the server's error for a bad certificate is a hang-up and
     * the client's a reset; a missing certificate is refused by OpenSSL itself.
     */
    async function refused(opts: RequestOptions, code: RegExp): Promise<void> {
      const before = { handled, errors: tlsErrors.length };
      await assert.rejects(get(port, opts), (e: NodeJS.ErrnoException) => {
        assert.match(e.code ?? '', code, `${e.code}: ${e.message}`);
        return true;
      });
      for (let i = 0; i < 100 && tlsErrors.length === before.errors; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(tlsErrors.length, before.errors + 1, `tls errors: ${tlsErrors.join(', ')}`);
      assert.equal(handled, before.handled, 'the request reached the handler');
    }

    test('refused: no client certificate', async () => {
      await refused({ ca: j.ca }, /^(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED|ECONNRESET|EPIPE)$/);
      assert.equal(tlsErrors.at(-1), 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
    });

    test('refused: a self-signed client certificate (even one calling itself h1)', async () => {
      await refused({ ca: j.ca, cert: selfSigned.cert, key: selfSigned.key }, /^(ECONNRESET|EPIPE)$/);
    });

    test('refused: a certificate from another cluster\'s CA', async () => {
      await refused({ ca: j.ca, cert: b.cert, key: b.key }, /^(ECONNRESET|EPIPE)$/);
      // TLS 1.2 too: there the refusal comes during the handshake
      await refused({ ca: j.ca, cert: b.cert, key: b.key, maxVersion: 'TLSv1.2' }, /^(ECONNRESET|EPIPE|EPROTO|ERR_SSL_\w+)$/);
      await refused({ ca: j.ca, maxVersion: 'TLSv1.2' }, /^(ECONNRESET|EPIPE|EPROTO|ERR_SSL_\w+)$/);
    });

    test('refused: a client that does not trust the server\'s CA (another cluster\'s host)', async () => {
      await refused(tlsClientOptions(b), /^SELF_SIGNED_CERT_IN_CHAIN$/);
    });

    test('the client checks the server\'s IP SAN: reached at 127.0.0.1 it passes; other addresses and names only when in the certificate', async () => {
      const peer = await new Promise<ReturnType<TLSSocket['getPeerCertificate']>>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port, agent: false, ...tlsClientOptions(j) }, (res) => {
          resolve((res.socket as TLSSocket).getPeerCertificate());
          res.resume();
        });
        req.on('error', reject);
        req.end();
      });
      const check = tlsClientOptions(j).checkServerIdentity;
      assert.equal(check('127.0.0.1', peer), undefined);
      assert.equal(check('10.0.0.5', peer), undefined);
      assert.equal(check('h1', peer), undefined);
      assert.match(String(check('10.0.0.6', peer)), /IP: 10\.0\.0\.6 is not in the cert's list/);
      assert.match(String(check('h2', peer)), /Host: h2\. is not in the cert's altnames/);
    });
  });

  describe('fetchPeerCa', () => {
    let joinPort: number;
    before(async () => {
      const s = createHttpsServer(tlsJoinServerOptions(a), (req, res) => res.end(`join here, ${peerName(req.socket as TLSSocket) ?? 'anonymous'}`));
      joinPort = await listen(s);
    });

    test('returns the CA for the token\'s prefix; a connection verifying with it then works without a client certificate', async () => {
      const pem = await fetchPeerCa('127.0.0.1', joinPort, caA.fingerprint.slice(0, 16));
      assert.equal(caFingerprint(pem), caA.fingerprint);
      assert.equal(new X509Certificate(pem).toString(), new X509Certificate(a.ca).toString());
      assert.deepEqual(await get(joinPort, { ca: pem, checkServerIdentity: tlsClientOptions(a).checkServerIdentity }), { status: 200, body: 'join here, anonymous' });
      // the main listener's chain carries the CA too
      const main = createHttpsServer(tlsServerOptions(a), (_q, r) => r.end());
      assert.equal(caFingerprint(await fetchPeerCa('127.0.0.1', await listen(main), caA.fingerprint.slice(0, 16))), caA.fingerprint);
    });

    test('refuses a CA whose fingerprint does not match the token', async () => {
      const wrong = caFingerprint(b.ca).slice(0, 16);
      await assert.rejects(fetchPeerCa('127.0.0.1', joinPort, wrong), (e: unknown) => {
        assert.ok(e instanceof UserError);
        assert.match(e.message, new RegExp(`^the host at 127\\.0\\.0\\.1:${joinPort} presents a CA whose fingerprint does not match the token`));
        assert.match(e.fix ?? '', /cellblock cluster token/);
        return true;
      });
    });

    test('refuses a peer with no CA in its chain, an unreachable port and bad input', async () => {
      const ss = createTlsServer({ cert: selfSigned.cert, key: selfSigned.key }, (sock) => sock.end());
      servers.push(ss as unknown as Server);
      await new Promise<void>((r) => ss.listen(0, '127.0.0.1', () => r()));
      const ssPort = (ss.address() as AddressInfo).port;
      await assert.rejects(fetchPeerCa('127.0.0.1', ssPort, caFingerprint(selfSigned.cert).slice(0, 16)), /presents no CA certificate/);

      const probe = createNetServer();
      await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
      const closed = (probe.address() as AddressInfo).port;
      await new Promise<void>((r) => probe.close(() => r()));
      await assert.rejects(fetchPeerCa('127.0.0.1', closed, caA.fingerprint.slice(0, 16)), (e: unknown) => e instanceof UserError && /cannot reach the join listener at 127\.0\.0\.1:\d+: ECONNREFUSED/.test(e.message));

      await assert.rejects(fetchPeerCa('h1.example', joinPort, caA.fingerprint.slice(0, 16)), /invalid address/);
      await assert.rejects(fetchPeerCa('127.0.0.1', 0, caA.fingerprint.slice(0, 16)), /invalid port/);
      await assert.rejects(fetchPeerCa('127.0.0.1', joinPort, 'abc'), /invalid CA fingerprint prefix/);
    });
  });
});
