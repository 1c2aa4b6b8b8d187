import { test } from 'node:test';
import assert from 'node:assert/strict';
import { caCertArgv, checkAddresses, csrArgv, etcdTlsFiles, genKeyArgv, hostExtensions, randomSerial, signArgv, tlsDir, tlsPaths } from '../../src/cluster/pki.js';
import { UserError } from '../../src/sys/errors.js';

test('layout under DATA_DIR/cluster/tls', () => {
  assert.equal(tlsDir('/var/lib/cellblock'), '/var/lib/cellblock/cluster/tls');
  assert.deepEqual(tlsPaths('/d'), { dir: '/d', ca: '/d/ca.crt', caKey: '/d/ca.key', key: '/d/host.key', cert: '/d/host.crt' });
  assert.deepEqual(etcdTlsFiles('/d'), { caFile: '/d/ca.crt', certFile: '/d/host.crt', keyFile: '/d/host.key' });
});

test('openssl argv: key, CA, CSR, signing', () => {
  assert.deepEqual(genKeyArgv(), ['openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-pkeyopt', 'ec_param_enc:named_curve']);
  assert.deepEqual(caCertArgv('/s/ca.key', '0123456789ab'), [
    'openssl', 'req', '-x509', '-new', '-key', '/s/ca.key', '-sha256', '-days', '3650',
    '-subj', '/CN=cellblock cluster 0123456789ab', '-config', '/dev/null',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash',
  ]);
  assert.deepEqual(csrArgv('/d/host.key', 'h1'), ['openssl', 'req', '-new', '-key', '/d/host.key', '-sha256', '-subj', '/CN=h1', '-config', '/dev/null']);
  assert.deepEqual(signArgv({ csrPath: '/s/host.csr', caCert: '/d/ca.crt', caKey: '/d/ca.key', extPath: '/s/ext.cnf', host: 'h1', serialHex: '4a0b', days: 30 }), [
    'openssl', 'x509', '-req', '-in', '/s/host.csr', '-CA', '/d/ca.crt', '-CAkey', '/d/ca.key', '-set_serial', '0x4a0b',
    '-days', '30', '-sha256', '-subj', '/CN=h1', '-extfile', '/s/ext.cnf', '-extensions', 'ext',
  ]);
});

test('host extensions: every address, 127.0.0.1 once, the host name and localhost', () => {
  assert.equal(hostExtensions('h1', ['10.0.0.5', '127.0.0.1', 'fd00::1']), [
    '[ext]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature',
    'extendedKeyUsage = serverAuth,clientAuth',
    'subjectAltName = IP:10.0.0.5,IP:127.0.0.1,IP:fd00::1,DNS:h1,DNS:localhost',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid',
    '',
  ].join('\n'));
  assert.match(hostExtensions('h2', []), /^subjectAltName = IP:127\.0\.0\.1,DNS:h2,DNS:localhost$/m);
});

test('random serials are 16 bytes, positive, without a leading zero byte', () => {
  assert.equal(randomSerial(Buffer.alloc(16, 0)), '40' + '00'.repeat(15));
  assert.equal(randomSerial(Buffer.alloc(16, 0xff)), '7f' + 'ff'.repeat(15));
  const seen = new Set(Array.from({ length: 50 }, () => randomSerial()));
  assert.equal(seen.size, 50);
  for (const s of seen) assert.match(s, /^[4-7][0-9a-f]{31}$/);
});

test('addresses must be plain IPs', () => {
  assert.deepEqual(checkAddresses(['10.0.0.5', 'fd00::1']), ['10.0.0.5', 'fd00::1']);
  for (const bad of ['example.com', '10.0.0.5,DNS:evil', '10.0.0.5\n[ext]', 'fe80::1%eth0', '', ' 10.0.0.5', 5]) {
    assert.throws(() => checkAddresses([bad]), (e: unknown) => e instanceof UserError && /^invalid host address/.test(e.message) && !!e.fix);
  }
});
