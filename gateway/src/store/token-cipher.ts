// Sealing of secrets at rest (OIDC tokens, CSRF tokens, PKCE verifiers): AES-256-GCM under the
// store's token key, a fresh random 96-bit IV per write, and a context string bound in as
// associated data, so a sealed value copied into another row or column does not open there.
// Lookup keys (cookie ids, OAuth state) are stored only as SHA-256. Pure apart from randomness.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class TokenCipherError extends Error {
  override readonly name = 'TokenCipherError';
}

export class TokenCipher {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (!Buffer.isBuffer(key) || key.length !== 32) {
      throw new TokenCipherError(`the token key must be 32 bytes (AES-256), got ${Buffer.isBuffer(key) ? `${key.length} bytes` : typeof key}; generate one with: openssl rand -base64 32`);
    }
    this.#key = Buffer.from(key);
  }

  /** "v1." + base64url(iv | tag | ciphertext). */
  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url')}`;
  }

  /** Throws TokenCipherError when the value was sealed under another key or context, or altered. */
  open(sealed: string, context: string): string {
    const [version, body, ...rest] = sealed.split('.');
    if (version !== VERSION || body === undefined || rest.length > 0) {
      throw new TokenCipherError(`sealed value has an unknown format (expected ${VERSION}.<base64url>)`);
    }
    const bytes = Buffer.from(body, 'base64url');
    if (bytes.length < IV_BYTES + TAG_BYTES) throw new TokenCipherError('sealed value is too short');
    const decipher = createDecipheriv('aes-256-gcm', this.#key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch (e) {
      throw new TokenCipherError('sealed value does not open: written under another token key, or altered', { cause: e });
    }
  }
}

/** SHA-256 (hex) of a lookup key such as a cookie id. */
export function lookupHash(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}
