import { GraphQLError } from 'graphql';
import { base64url, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { expect } from 'vitest';
import { createTokenVerifier, jwksFromJson } from '../auth.js';
import type { SessionRevocations } from '../session-revocations.js';

/** Signing keys, claims and refusal checks for the token verifier's tests (auth.test.ts, auth.int.test.ts). */

export const ISSUER = 'https://users.parley.test';

export const AUDIENCE = 'parley';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

export async function createSigningKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
  return {
    kid,
    privateKey,
    publicKey,
    jwk: { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' },
  };
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Claims of a valid access token; tests override or drop one at a time. */
export function claims(
  overrides: Record<string, unknown> = {},
  omit: string[] = [],
): Record<string, unknown> {
  const now = nowSeconds();
  const all: Record<string, unknown> = {
    sub: 'user-1',
    sid: 'session-1',
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now,
    exp: now + 300,
    ...overrides,
  };
  for (const name of omit) delete all[name];
  return all;
}

export const sign = (key: SigningKey, payload = claims(), kid = key.kid) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', kid, typ: 'at+jwt' }).sign(key.privateKey);

export const encodeJson = (value: unknown) => base64url.encode(JSON.stringify(value));

export function decodePayload(token: string): Record<string, unknown> {
  const [, payload] = token.split('.');
  return JSON.parse(new TextDecoder().decode(base64url.decode(payload ?? ''))) as Record<string, unknown>;
}

/** The GraphQLError a refused verification rejects with. */
export async function refusal(verification: Promise<unknown>): Promise<GraphQLError> {
  const outcome = await verification.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(GraphQLError);
  return outcome as GraphQLError;
}

export async function expectRefused(verification: Promise<unknown>, reason: string): Promise<void> {
  const error = await refusal(verification);
  expect(error.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason });
}

/** A verifier of tokens signed with `key` that refuses the sessions `revocations` knows as revoked. */
export const revocableVerifier = (key: SigningKey, revocations: SessionRevocations) =>
  createTokenVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: jwksFromJson({ keys: [key.jwk] }),
    revocations,
  });
