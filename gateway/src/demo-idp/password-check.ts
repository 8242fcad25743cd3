// Checks a login name and password against the demo accounts in constant time: the time taken
// does not depend on how much of the password was right, nor on whether the login exists
// (every account is compared, with digests of equal length). Demo passwords are printed on the
// console, so this is about behaving like a real provider in tests, not about secrecy.
import { createHash, timingSafeEqual } from 'node:crypto';

export interface PasswordAccount {
  readonly login: string;
  readonly password: string;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The account whose login and password both match, or undefined. */
export function checkPassword<A extends PasswordAccount>(accounts: readonly A[], login: string, password: string): A | undefined {
  const loginDigest = digest(login);
  const passwordDigest = digest(password);
  let found: A | undefined;
  for (const account of accounts) {
    // Both comparisons run for every account, whatever the outcome.
    const loginMatches = timingSafeEqual(loginDigest, digest(account.login));
    const passwordMatches = timingSafeEqual(passwordDigest, digest(account.password));
    if (loginMatches && passwordMatches) found = account;
  }
  return found;
}
