import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  ACCESS_TOKEN_ALGORITHM,
  ACCESS_TOKEN_TYPE,
  jwksFromJson,
  systemClock,
  type Clock,
} from '@parley/kit';

import {
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
} from 'jose';
import { z } from 'zod';

/** Private Ed25519 JWKs, each with a `kid` (the shape of AUTH_SIGNING_KEYS). */
export const signingKeysSchema = z.array(
  z.object({
    kid: z.string().min(1),
    kty: z.literal('OKP'),
    crv: z.literal('Ed25519'),
    x: z.string(),
    d: z.string(),
  }),
);

export interface AccessTokenClaims {
  userId: string;
  sessionId: string;
}

export interface Keyring {
  activeKid: string;
  /** Public keys only (no `d`), every key of the ring: the active one and those being rotated out. */
  jwks: JSONWebKeySet;
  verificationKeys: JWTVerifyGetKey;
  signAccessToken(claims: AccessTokenClaims): Promise<{ token: string; expiresAt: Date }>;
}

export interface KeyringOptions {
  privateJwks: JWK[];
  activeKid?: string;
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  /**
   * When tokens are issued (`iat`) and so when they expire (`exp`): the system's time by default, a test's
   * clock to make their lifetime pass at once (the services checking them go by the same clock).
   */
  clock?: Clock;
}

/**
 * Signs access tokens with the active Ed25519 key (`kid` in the header) and publishes every key's public
 * half. Rotation: add the new key, make it active, keep the old one until its last token has expired.
 */
export async function createKeyring(options: KeyringOptions): Promise<Keyring> {
  const keys = signingKeysSchema.parse(options.privateJwks);
  const kids = keys.map((key) => key.kid);
  if (new Set(kids).size !== kids.length) throw new Error(`Duplicate kid in the keyring: ${kids.join(', ')}`);
  const activeKid = options.activeKid ?? keys[0]?.kid;
  const active = keys.find((key) => key.kid === activeKid);
  if (!active || !activeKid) throw new Error(`Signing key "${activeKid ?? ''}" is not in the keyring`);
  const signingKey = (await importJWK(
    { ...active, alg: ACCESS_TOKEN_ALGORITHM },
    ACCESS_TOKEN_ALGORITHM,
  )) as CryptoKey;
  const clock = options.clock ?? systemClock;
  const jwks: JSONWebKeySet = {
    keys: keys.map(({ kid, kty, crv, x }) => ({ kid, kty, crv, x, alg: ACCESS_TOKEN_ALGORITHM, use: 'sig' })),
  };
  return {
    activeKid,
    jwks,
    verificationKeys: jwksFromJson(jwks),
    async signAccessToken({ userId, sessionId }) {
      const issuedAt = Math.floor(clock.now().getTime() / 1000);
      const exp = issuedAt + options.accessTokenTtlSeconds;
      const token = await new SignJWT({ sid: sessionId })
        .setProtectedHeader({ alg: ACCESS_TOKEN_ALGORITHM, kid: activeKid, typ: ACCESS_TOKEN_TYPE })
        .setSubject(userId)
        .setIssuer(options.issuer)
        .setAudience(options.audience)
        .setIssuedAt(issuedAt)
        .setExpirationTime(exp)
        .setJti(randomUUID())
        .sign(signingKey);
      return { token, expiresAt: new Date(exp * 1000) };
    },
  };
}

/** A new private Ed25519 JWK with a date-based `kid` (`npm run keys:generate -w @parley/users`). */
export async function generateSigningKey(
  kid = `${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`,
): Promise<JWK> {
  const { privateKey } = await generateKeyPair(ACCESS_TOKEN_ALGORITHM, { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  return { kid, kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d };
}

/** Development and embedded mode: one key, generated on first start and kept so restarts keep sessions valid. */
export async function loadOrCreateDevSigningKeys(path: string): Promise<JWK[]> {
  if (existsSync(path)) return JSON.parse(await readFile(path, 'utf8')) as JWK[];
  const keys = [await generateSigningKey()];
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, JSON.stringify(keys, null, 2), { mode: 0o600 });
  return keys;
}
