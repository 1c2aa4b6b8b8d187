/** lb/certs.ts: publish.tls checked against certificates made by openssl; the CertRecord it yields. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, X509Certificate } from 'node:crypto';
import { checkCerts, tlsFilesOf } from '../../src/lb/certs.js';
import { parseStack } from '../../src/spec/parse.js';
import { encryptKey, makeCert, type TestPair } from '../helpers/certs.js';

let dir: string;
let site: TestPair;
let other: TestPair;
let wild: TestPair;
let encrypted: string;
/** Set once the certificates exist: one made a moment after a clock read at import would not be valid yet. */
let NOW: Date;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cb-certs-'));
  [site, other, wild] = await Promise.all([
    makeCert(dir, 'site', ['site.example.com', 'www.example.com']),
    makeCert(dir, 'other', ['other.example.com']),
    makeCert(dir, 'wild', ['*.example.com']),
  ]);
  encrypted = await encryptKey(site.key, join(dir, 'enc.key'));
  NOW = new Date(Date.now() + 1000);
});
after(async () => { await rm(dir, { recursive: true, force: true }); });

const stack = (names: string[] = ['site.example.com', 'www.example.com']) => parseStack([
  'services:',
  '  site:',
  '    image: site:v1',
  '    command: [/app/site]',
  '    port: 8080',
  '    publish:',
  `      http: [${names.map((n) => JSON.stringify(n)).join(', ')}]`,
  '      tls: { cert: certs/site.crt, key: certs/site.key }',
  '  plain:',
  '    image: site:v1',
  '    command: [/app/site]',
  '    port: 8080',
  '    publish: { http: [plain.example.com] }',
].join('\n'), 'stack.yml');

const files = (cert: string, key: string) => ({ 'certs/site.crt': cert, 'certs/site.key': key });
const problems = (cert: string, key: string, o: { names?: string[]; now?: Date } = {}) =>
  checkCerts(stack(o.names), files(cert, key), o.now ?? NOW).problems.map((p) => `${p.path.join('.')}: ${p.message}`);

test('a good pair gives the CertRecord: names, expiry, fingerprint; the files it names, once each', () => {
  const r = checkCerts(stack(), files(site.certPem, site.keyPem), NOW);
  assert.deepEqual(r.problems, []);
  assert.deepEqual([...r.records.keys()], ['site']);
  const rec = r.records.get('site')!;
  const x = new X509Certificate(site.certPem);
  assert.deepEqual(rec, {
    certFile: 'certs/site.crt', keyFile: 'certs/site.key', certPem: site.certPem, keyPem: site.keyPem,
    names: ['site.example.com', 'www.example.com'], notAfter: new Date(x.validTo).toISOString(),
    fingerprint: createHash('sha256').update(x.raw).digest('hex'),
  });
  assert.deepEqual(tlsFilesOf(stack()), ['certs/site.crt', 'certs/site.key']);
});

test('a key that does not match, expired, not yet valid: refused at the tls field, the key never in the message', () => {
  assert.deepEqual(problems(site.certPem, other.keyPem), ['services.site.publish.tls.key: certs/site.key does not match the certificate certs/site.crt']);
  const later = new Date(Date.now() + 40 * 86_400_000);
  const exp = new Date(new X509Certificate(site.certPem).validTo).toISOString();
  assert.deepEqual(problems(site.certPem, site.keyPem, { now: later }), [`services.site.publish.tls.cert: certs/site.crt expired on ${exp}`]);
  const earlier = new Date(Date.now() - 86_400_000);
  const from = new Date(new X509Certificate(site.certPem).validFrom).toISOString();
  assert.deepEqual(problems(site.certPem, site.keyPem, { now: earlier }), [`services.site.publish.tls.cert: certs/site.crt is not valid before ${from}`]);
  const all = checkCerts(stack(), files(site.certPem, other.keyPem), NOW).problems;
  for (const p of all) assert.ok(!JSON.stringify(p).includes('PRIVATE KEY') && !JSON.stringify(p).includes(other.keyPem.split('\n')[1]!), 'no key material in a problem');
  assert.match(all[0]!.fix, /^give the key the certificate was made with \(compare openssl x509 -noout -pubkey -in certs\/site.crt with openssl pkey -pubout -in certs\/site.key\)$/);
});

test('not PEM, the two swapped, an encrypted key', () => {
  assert.deepEqual(problems('hello', site.keyPem), ['services.site.publish.tls.cert: certs/site.crt is not a PEM certificate']);
  assert.deepEqual(problems(site.keyPem, site.certPem), [
    'services.site.publish.tls.cert: certs/site.crt is not a PEM certificate',
    'services.site.publish.tls.key: certs/site.key is not a PEM private key',
  ]);
  assert.deepEqual(problems(site.certPem, encrypted), ['services.site.publish.tls.key: certs/site.key is encrypted']);
  const broken = site.certPem.replace(/\n[A-Za-z0-9+/]{20}/, '\n!!!!');
  assert.deepEqual(problems(broken, site.keyPem), ['services.site.publish.tls.cert: certs/site.crt is not a PEM certificate']);
});

test('every host name of publish.http must be covered: SANs and wildcards', () => {
  assert.deepEqual(problems(other.certPem, other.keyPem), ['services.site.publish.tls.cert: certs/site.crt does not cover site.example.com, www.example.com (it covers other.example.com)']);
  assert.deepEqual(problems(site.certPem, site.keyPem, { names: ['site.example.com', 'api.example.com'] }), ['services.site.publish.tls.cert: certs/site.crt does not cover api.example.com (it covers site.example.com, www.example.com)']);
  // *.example.com covers one level of names, and the wildcard name itself
  assert.deepEqual(problems(wild.certPem, wild.keyPem, { names: ['a.example.com', '*.example.com'] }), []);
  assert.deepEqual(problems(wild.certPem, wild.keyPem, { names: ['a.b.example.com'] }), ['services.site.publish.tls.cert: certs/site.crt does not cover a.b.example.com (it covers *.example.com)']);
  assert.deepEqual(problems(site.certPem, site.keyPem, { names: ['*.example.com'] }), ['services.site.publish.tls.cert: certs/site.crt does not cover *.example.com (it covers site.example.com, www.example.com)']);
  const fix = checkCerts(stack(['a.example.com', 'b.example.com']), files(site.certPem, site.keyPem), NOW).problems[0]!.fix;
  assert.equal(fix, 'use a certificate whose subjectAltName lists every host name of publish.http, for example: openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=a.example.com -addext subjectAltName=DNS:a.example.com,DNS:b.example.com -keyout certs/site.key -out certs/site.crt');
});

test('files not sent, or unreadable as the CLI says', () => {
  const r = checkCerts(stack(), {}, NOW, { 'certs/site.key': 'no such file (/srv/certs/site.key)' });
  assert.deepEqual(r.problems.map((p) => `${p.path.join('.')}: ${p.message}`), [
    'services.site.publish.tls.cert: certs/site.crt was not sent with the stack file',
    'services.site.publish.tls.key: cannot read certs/site.key: no such file (/srv/certs/site.key)',
  ]);
  assert.equal(r.records.size, 0);
  assert.match(r.problems[1]!.fix, /relative to the stack file's directory; to make a self-signed pair: openssl req -x509 .* -keyout certs\/site.key -out certs\/site.crt$/);
});
