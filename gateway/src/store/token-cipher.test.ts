import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { lookupHash, TokenCipher, TokenCipherError } from './token-cipher.js';

describe('TokenCipher', () => {
  const cipher = new TokenCipher(randomBytes(32));

  it('opens what it sealed, for any text and context', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), fc.string(), (text, context) => {
      assert.equal(cipher.open(cipher.seal(text, context), context), text);
    }));
  });

  it('never seals the same text twice to the same value, and never shows the text', () => {
    const a = cipher.seal('access-token-abc', 'c');
    const b = cipher.seal('access-token-abc', 'c');
    assert.notEqual(a, b);
    assert.equal(a.includes('access-token'), false);
    assert.match(a, /^v1\.[A-Za-z0-9_-]+$/);
  });

  it('refuses another key, another context, a flipped bit, a truncation and a foreign format', () => {
    const sealed = cipher.seal('secret', 'row-1');
    const refuses = (value: string, context = 'row-1', by: TokenCipher = cipher): void => {
      assert.throws(() => by.open(value, context), TokenCipherError);
    };
    refuses(sealed, 'row-1', new TokenCipher(randomBytes(32)));
    refuses(sealed, 'row-2');
    const bytes = Buffer.from(sealed.slice(3), 'base64url');
    for (const index of [0, 12, 28, bytes.length - 1]) {
      const flipped = Buffer.from(bytes);
      flipped[index]! ^= 1;
      refuses(`v1.${flipped.toString('base64url')}`);
    }
    refuses(`v1.${bytes.subarray(0, 20).toString('base64url')}`);
    refuses(`v2.${bytes.toString('base64url')}`);
    refuses('secret');
    refuses(`${sealed}.x`);
  });

  it('wants a 32-byte key and says how to make one', () => {
    assert.throws(() => new TokenCipher(randomBytes(31)), /32 bytes \(AES-256\), got 31 bytes; generate one with: openssl rand -base64 32/);
  });

  it('does not depend on the caller keeping the key buffer unchanged', () => {
    const key = randomBytes(32);
    const own = new TokenCipher(key);
    const sealed = own.seal('x', 'c');
    key.fill(0);
    assert.equal(own.open(sealed, 'c'), 'x');
  });
});

describe('lookupHash', () => {
  it('is SHA-256 hex', () => {
    assert.equal(lookupHash('abc'), createHash('sha256').update('abc').digest('hex'));
    assert.equal(lookupHash('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
