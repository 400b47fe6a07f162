import { test } from 'node:test';
import assert from 'node:assert/strict';
import { base32Decode, totp } from '../lib/totp.mjs';

// RFC 6238 appendix B, SHA-1: the key is ASCII "12345678901234567890".
const SECRET = Buffer.from('12345678901234567890', 'ascii');
// The same key as base32, as an authenticator app would be given it.
const SECRET_B32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

test('base32 decodes the RFC 6238 key', () => {
  assert.deepEqual(base32Decode(SECRET_B32), SECRET);
  assert.deepEqual(base32Decode(SECRET_B32.toLowerCase()), SECRET);
  assert.deepEqual(base32Decode('MZXW6===' ), Buffer.from('foo'));
  assert.throws(() => base32Decode('MZXW1'), /not a base32 character/);
});

test('TOTP matches the RFC 6238 SHA-1 vectors (6 digits)', () => {
  const vectors = [
    [59, '287082'],
    [1111111109, '081804'],
    [1111111111, '050471'],
    [1234567890, '005924'],
    [2000000000, '279037'],
    [20000000000, '353130'],
  ];
  for (const [t, code] of vectors) {
    assert.equal(totp(SECRET_B32, t), code, `T=${t}`);
    assert.equal(totp(SECRET, t), code, `T=${t} (raw key)`);
  }
});
