// TOTP (RFC 6238) as authenticator apps compute it: HMAC-SHA1, 30-second steps, 6 digits.
// The setup key is the base32 text (RFC 4648, no padding needed) the console shows.
import { createHmac } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const STEP_SECONDS = 30;

/** Decodes base32 (case-insensitive; spaces, dashes and `=` padding ignored) to bytes. */
export function base32Decode(text) {
  const clean = text.toUpperCase().replace(/[\s=-]/g, '');
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const i = ALPHABET.indexOf(ch);
    if (i < 0) throw new Error(`not a base32 character: ${JSON.stringify(ch)}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** HOTP (RFC 4226) of a raw key and a counter, `digits` long. */
export function hotp(key, counter, digits = 6) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(msg).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const bin = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(bin).padStart(digits, '0');
}

/** The 30-second step a moment (unix seconds) falls in. */
export function stepOf(unixSeconds) {
  return Math.floor(unixSeconds / STEP_SECONDS);
}

/**
 * The 6-digit code for `setupKey` (base32 text, or a Buffer holding the raw key) at
 * `unixSeconds` (default: now).
 */
export function totp(setupKey, unixSeconds = Date.now() / 1000) {
  const key = Buffer.isBuffer(setupKey) ? setupKey : base32Decode(setupKey);
  return hotp(key, stepOf(unixSeconds));
}
