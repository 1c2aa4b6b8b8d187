import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { checkSecret, makeToken, parseToken, secretHash } from '../../src/cluster/token.js';
import { UserError } from '../../src/sys/errors.js';

const FP = 'ab'.repeat(32);
const FIX = 'get a fresh one with: cellblock cluster token';

test('makeToken: cbj1.<8 hex id>.<32 hex secret>.<first 16 hex of the CA fingerprint>', () => {
  const t = makeToken(FP);
  assert.match(t.id, /^[0-9a-f]{8}$/);
  assert.match(t.secret, /^[0-9a-f]{32}$/);
  assert.equal(t.caFpPrefix, 'abababababababab');
  assert.equal(t.token, `cbj1.${t.id}.${t.secret}.abababababababab`);
  assert.notEqual(makeToken(FP).secret, t.secret);
  assert.equal(makeToken(FP.toUpperCase()).caFpPrefix, 'abababababababab');
  assert.throws(() => makeToken('abc'), /not a sha256 fingerprint/);
});

test('parseToken reads back what makeToken made, surrounding whitespace ignored', () => {
  const t = makeToken(FP);
  assert.deepEqual(parseToken(t.token), { id: t.id, secret: t.secret, caFpPrefix: t.caFpPrefix });
  assert.deepEqual(parseToken(`  ${t.token}\n`), { id: t.id, secret: t.secret, caFpPrefix: t.caFpPrefix });
});

test('parseToken refuses malformed tokens, saying what is wrong and never repeating the secret', () => {
  const secret = '0123456789abcdef0123456789abcdef';
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['   ', /empty/],
    [`cbj2.deadbeef.${secret}.abababababababab`, /not a cellblock join token: it should start with "cbj1\."/],
    [`deadbeef.${secret}.abababababababab`, /not a cellblock join token/],
    [`cbj1.deadbeef.${secret}`, /3 parts .* not 4 .* cut short/],
    [`cbj1.deadbeef.${secret}.abababababababab.x`, /5 parts/],
    [`cbj1.deadbee.${secret}.abababababababab`, /id should be 8 lowercase hex digits, it has 7 characters$/],
    [`cbj1.DEADBEEF.${secret}.abababababababab`, /id should be 8 .* with some not hex digits/],
    [`cbj1.deadbeef.${secret}0.abababababababab`, /secret should be 32 lowercase hex digits, it has 33 characters/],
    [`cbj1.deadbeef.${secret.replace('0', 'g')}.abababababababab`, /secret .* not hex/],
    [`cbj1.deadbeef.${secret}.abab`, /CA fingerprint should be 16 lowercase hex digits, it has 4 characters/],
  ];
  for (const [s, re] of cases) {
    assert.throws(() => parseToken(s), (e: unknown) => {
      assert.ok(e instanceof UserError, `${s}: ${String(e)}`);
      assert.match(e.message, re, s);
      assert.equal(e.fix, FIX);
      assert.ok(!e.message.includes(secret.slice(4)), `the message repeats the secret: ${e.message}`);
      return true;
    });
  }
});

test('secretHash is sha256 hex; checkSecret compares in constant time and refuses bad hashes', () => {
  const { secret } = makeToken(FP);
  const h = secretHash(secret);
  assert.equal(h, createHash('sha256').update(secret).digest('hex'));
  assert.equal(checkSecret(secret, h), true);
  assert.equal(checkSecret(secret.replace(/.$/, (c) => (c === '0' ? '1' : '0')), h), false);
  assert.equal(checkSecret('', h), false);
  assert.equal(checkSecret(secret, h.slice(0, 62)), false);
  assert.equal(checkSecret(secret, h.toUpperCase()), false);
  assert.equal(checkSecret(secret, ''), false);
});
