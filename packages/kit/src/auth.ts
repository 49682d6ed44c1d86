import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import { systemClock, type Clock } from './clock.js';
import { EnvError } from './env.js';
import { unauthenticated } from './errors.js';
import type { SessionRevocations } from './session-revocations.js';

/** Access tokens are signed with Ed25519 (JWS `alg: EdDSA`); nothing else is ever accepted. */
export const ACCESS_TOKEN_ALGORITHM = 'EdDSA';
export const ACCESS_TOKEN_TYPE = 'at+jwt';

/** Who is calling, as proven by a verified access token. */
export interface Viewer {
  userId: string;
  sessionId: string;
  expiresAt: Date;
}

export interface TokenVerifierConfig {
  issuer: string;
  audience: string;
  /** Where public keys come from: `jwksFromUrl(usersJwksUrl)` in services, the live keyring in the users service. */
  keys: JWTVerifyGetKey;
  /** Sessions revoked before their access tokens expire (logout, revoke, refresh-token reuse). */
  revocations?: SessionRevocations;
  /**
   * What "expired" goes by: the system's time by default. A service whose tokens are signed by a test's
   * clock checks them by the same clock, so a test moves past their expiry at once instead of waiting.
   */
  clock?: Clock;
}

export type TokenVerifier = (token: string) => Promise<Viewer>;

/** Public keys fetched from a JWKS endpoint, cached, refetched when an unknown `kid` shows up. */
export const jwksFromUrl = (url: string | URL): JWTVerifyGetKey =>
  createRemoteJWKSet(new URL(url), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });

/** Public keys given as configuration (e.g. `AUTH_PUBLIC_JWKS`), for services that cannot reach the users service. */
export const jwksFromJson = (jwks: JSONWebKeySet): JWTVerifyGetKey => createLocalJWKSet(jwks);

/** How long a token's verified signature and claims are remembered (never past the token's own expiry). */
export const VERIFIED_TOKEN_TTL_MS = 60_000;
/** Tokens remembered at once; the oldest is forgotten first. */
const VERIFIED_TOKENS_MAX = 10_000;

/**
 * Verifies an access token: signature (EdDSA only, so `none` and HS256-with-the-public-key are refused),
 * `kid` known, issuer, audience, expiry, required claims, and that the session is not revoked.
 * Every failure is an UNAUTHENTICATED error with `extensions.reason`.
 */
export function createTokenVerifier(config: TokenVerifierConfig): TokenVerifier {
  const clock = config.clock ?? systemClock;
  /**
   * Tokens whose signature and claims were checked in the last minute: one query reaches a service up to a
   * dozen times with the same token (the router's plan, the subgraphs asking each other), and an EdDSA
   * check costs more than the rest of a small request. Keyed by the whole token, so a changed byte is a
   * new token; expiry is still checked on every use, revocation still asked every time; a key withdrawn
   * from the JWKS stops counting for remembered tokens within VERIFIED_TOKEN_TTL_MS.
   */
  const verified = new Map<string, { viewer: Viewer; forgetAt: number }>();

  async function checkSignatureAndClaims(token: string): Promise<Viewer> {
    const currentDate = clock.now();
    const now = currentDate.getTime();
    const remembered = verified.get(token);
    if (remembered && now < remembered.forgetAt) return remembered.viewer;
    if (remembered) verified.delete(token);
    let payload;
    try {
      ({ payload } = await jwtVerify(token, config.keys, {
        algorithms: [ACCESS_TOKEN_ALGORITHM],
        issuer: config.issuer,
        audience: config.audience,
        requiredClaims: ['sub', 'sid', 'exp', 'iat'],
        // RFC 9068: an ID token or any other JWT signed by the same key is not an access token.
        typ: ACCESS_TOKEN_TYPE,
        currentDate,
      }));
    } catch (error) {
      if (error instanceof errors.JWTExpired)
        throw unauthenticated('Access token expired', { reason: 'TOKEN_EXPIRED' });
      throw unauthenticated('Invalid access token', { reason: 'TOKEN_INVALID' });
    }
    const { sub, sid, exp } = payload;
    if (typeof sub !== 'string' || typeof sid !== 'string' || typeof exp !== 'number') {
      throw unauthenticated('Invalid access token', { reason: 'TOKEN_INVALID' });
    }
    const viewer = { userId: sub, sessionId: sid, expiresAt: new Date(exp * 1000) };
    if (verified.size >= VERIFIED_TOKENS_MAX) verified.delete(verified.keys().next().value!);
    verified.set(token, { viewer, forgetAt: Math.min(exp * 1000, now + VERIFIED_TOKEN_TTL_MS) });
    return viewer;
  }

  return async (token) => {
    const viewer = await checkSignatureAndClaims(token);
    if (config.revocations && (await config.revocations.isRevoked(viewer.sessionId))) {
      throw unauthenticated('Session revoked', { reason: 'SESSION_REVOKED' });
    }
    return { ...viewer };
  };
}

/** Extracts the token from `Authorization: Bearer <token>`; a malformed header is an error, not anonymity. */
export function bearerToken(authorization: string | null): string | null {
  if (authorization === null || authorization === '') return null;
  const match = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/i.exec(authorization.trim());
  if (!match?.[1]) throw unauthenticated('Malformed Authorization header', { reason: 'TOKEN_INVALID' });
  return match[1];
}

/**
 * The verification keys a service's environment names (see `tokenVerificationEnvShape`): an inline
 * public JWKS wins over the JWKS URL, so a service can run without reaching the users service.
 */
export function verificationKeysFromEnv(env: {
  AUTH_JWKS_URL?: string | undefined;
  AUTH_PUBLIC_JWKS?: { keys: object[] } | undefined;
}): JWTVerifyGetKey {
  if (env.AUTH_PUBLIC_JWKS) return jwksFromJson(env.AUTH_PUBLIC_JWKS as JSONWebKeySet);
  if (env.AUTH_JWKS_URL) return jwksFromUrl(env.AUTH_JWKS_URL);
  throw new EnvError(['AUTH_JWKS_URL or AUTH_PUBLIC_JWKS: one is required to verify access tokens']);
}

/** What a service verifies access tokens against: the issuer's keys and the expected claims. */
export interface TokenVerification {
  keys: JWTVerifyGetKey;
  issuer: string;
  audience: string;
}

/**
 * Token verification for a service that trusts the users service's tokens (`tokenVerificationEnvShape`):
 * the inline JWKS, AUTH_JWKS_URL, or else the JWKS the users subgraph at `usersSubgraphUrl` publishes.
 */
export function tokenVerificationFromEnv(
  env: {
    AUTH_ISSUER: string;
    AUTH_AUDIENCE: string;
    AUTH_JWKS_URL?: string | undefined;
    AUTH_PUBLIC_JWKS?: { keys: object[] } | undefined;
  },
  usersSubgraphUrl: string,
): TokenVerification {
  return {
    keys: verificationKeysFromEnv({
      AUTH_JWKS_URL: env.AUTH_JWKS_URL ?? new URL('/.well-known/jwks.json', usersSubgraphUrl).toString(),
      AUTH_PUBLIC_JWKS: env.AUTH_PUBLIC_JWKS,
    }),
    issuer: env.AUTH_ISSUER,
    audience: env.AUTH_AUDIENCE,
  };
}
