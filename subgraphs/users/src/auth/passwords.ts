import { hash, verify } from '@node-rs/argon2';

// OWASP's argon2id baseline: 19 MiB, 2 iterations, 1 lane. `algorithm: 2` is Algorithm.Argon2id, an ambient
// const enum that isolated modules cannot import.
const ARGON2ID = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string): Promise<string> => hash(password, ARGON2ID);

// Verified against when the account does not exist, so a login takes as long either way.
const unknownAccountHash = hashPassword('parley-unknown-account-placeholder');

/** Constant-time-ish check: an unknown account costs the same argon2 verification as a wrong password. */
export async function verifyPassword(
  passwordHash: string | null | undefined,
  password: string,
): Promise<boolean> {
  try {
    if (!passwordHash) {
      await verify(await unknownAccountHash, password);
      return false;
    }
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}
