// VNC Authentication (security type 2): DES-ECB of the server's 16-byte challenge, keyed by the
// first 8 password bytes with each byte bit-reversed (RFB's DES quirk). OpenSSL 3 has no single
// DES in its default provider, so 3DES-EDE with K1=K2=K3, which equals single DES, does the work.
// Pure computation; the password never leaves the gateway.
import { createCipheriv } from 'node:crypto';

function reverseBits(b: number): number {
  let r = 0;
  for (let j = 0; j < 8; j++) if ((b & (1 << j)) !== 0) r |= 1 << (7 - j);
  return r;
}

export function vncAuthResponse(password: string, challenge: Uint8Array): Uint8Array {
  if (challenge.length !== 16) throw new RangeError(`VNC auth challenge is ${challenge.length} bytes, expected 16`);
  const key = Buffer.alloc(8);
  Buffer.from(password, 'latin1').copy(key, 0, 0, 8);
  for (let i = 0; i < 8; i++) key[i] = reverseBits(key[i] ?? 0);
  const cipher = createCipheriv('des-ede3-ecb', Buffer.concat([key, key, key]), null);
  cipher.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([cipher.update(challenge), cipher.final()]));
}
