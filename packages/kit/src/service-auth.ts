import { randomUUID } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { EnvError } from './env.js';
import { forbidden } from './errors.js';
import type { Caller } from './subgraph-call.js';

/**
 * Service-to-service credentials, for calls no user token stands behind (a background job asking on no
 * one's behalf): `Authorization: Service <jwt>`, an HS256 JWT signed with a secret every service shares.
 * User access tokens (`Bearer`, EdDSA) and service tokens never pass for one another: another scheme,
 * another algorithm, another `typ` and audience.
 */
export const SERVICE_AUTH_SCHEME = 'Service';
export const SERVICE_TOKEN_AUDIENCE = 'parley-internal';
export const SERVICE_TOKEN_TYPE = 'service+jwt';
const ALGORITHM = 'HS256';
const TOKEN_TTL_SECONDS = 60;
/** A cached token is re-signed once less than this remains, so a receiver never sees it expire in flight. */
const RENEW_BELOW_SECONDS = 20;
/** Hosts' clocks drift a little; without slack a token signed a moment ahead would be refused. */
const CLOCK_TOLERANCE_SECONDS = 5;
/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash (32 bytes). */
const MIN_SECRET_LENGTH = 32;

/**
 * The secret outside production when SERVICE_TOKEN_SECRET is unset, so `npm start` and tests need no
 * configuration. Public (it is in this file), hence refused in production.
 */
export const DEVELOPMENT_SERVICE_TOKEN_SECRET = 'parley-development-service-token-secret-not-for-production';

export interface ServiceAuth {
  /** `Service <jwt>` for an Authorization header: HS256, iss = the calling service's name, aud 'parley-internal', exp 60 s; cached and re-signed when less than 20 s remain. */
  authorization(): Promise<string>;
  /** The calling service's name when `header` is a valid, unexpired `Service <jwt>` signed with the shared secret; null otherwise (never throws). */
  verify(header: string | null): Promise<string | null>;
}

const SERVICE_HEADER = new RegExp(`^${SERVICE_AUTH_SCHEME} ([\\w-]+\\.[\\w-]+\\.[\\w-]+)$`, 'i');

export function createServiceAuth(options: { secret: string; service: string }): ServiceAuth {
  if (options.secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`The service token secret must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  const key = new TextEncoder().encode(options.secret);
  let cached: { header: Promise<string>; expiresAt: number } | null = null;

  function sign(): { header: Promise<string>; expiresAt: number } {
    const issuedAt = Math.floor(Date.now() / 1000);
    const expiresAt = issuedAt + TOKEN_TTL_SECONDS;
    const header = new SignJWT({})
      .setProtectedHeader({ alg: ALGORITHM, typ: SERVICE_TOKEN_TYPE })
      .setIssuer(options.service)
      .setAudience(SERVICE_TOKEN_AUDIENCE)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .sign(key)
      .then((token) => `${SERVICE_AUTH_SCHEME} ${token}`);
    return { header, expiresAt: expiresAt * 1000 };
  }

  return {
    authorization() {
      if (!cached || cached.expiresAt - Date.now() < RENEW_BELOW_SECONDS * 1000) {
        const next = sign();
        // A failed signature is not kept: the next call tries again.
        next.header.catch(() => {
          if (cached === next) cached = null;
        });
        cached = next;
      }
      return cached.header;
    },

    async verify(header) {
      const token = header === null ? undefined : SERVICE_HEADER.exec(header.trim())?.[1];
      if (!token) return null;
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [ALGORITHM],
          audience: SERVICE_TOKEN_AUDIENCE,
          typ: SERVICE_TOKEN_TYPE,
          requiredClaims: ['iss', 'iat', 'exp'],
          // Whatever `exp` a token claims, it is good for one lifetime after it was signed.
          maxTokenAge: TOKEN_TTL_SECONDS,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
        });
        return typeof payload.iss === 'string' && payload.iss !== '' ? payload.iss : null;
      } catch {
        return null;
      }
    },
  };
}

/**
 * Whom a call on no user's behalf is made as (see `Caller`): this service, with a fresh request id.
 */
export async function serviceCaller(auth: ServiceAuth): Promise<Caller> {
  return { authorization: await auth.authorization(), requestId: randomUUID() };
}

/**
 * The calling service's name, or FORBIDDEN unless `authorization` (the request's Authorization header)
 * is a valid service token: a user's access token is refused too, whoever the user is.
 */
export async function requireService(authorization: string | null, auth: ServiceAuth): Promise<string> {
  const service = await auth.verify(authorization);
  if (service === null) throw forbidden('Service credentials required');
  return service;
}

/** zod env shape: SERVICE_TOKEN_SECRET, optional string of at least 32 chars. */
export const serviceAuthEnvShape = {
  /** Shared by every service; unset outside production means DEVELOPMENT_SERVICE_TOKEN_SECRET. */
  SERVICE_TOKEN_SECRET: z.string().min(MIN_SECRET_LENGTH).optional(),
};

/** The secret to use: SERVICE_TOKEN_SECRET; outside production a fixed, documented development default when unset; in production unset throws EnvError. */
export function serviceTokenSecret(env: {
  NODE_ENV: string;
  SERVICE_TOKEN_SECRET?: string | undefined;
}): string {
  if (env.SERVICE_TOKEN_SECRET) return env.SERVICE_TOKEN_SECRET;
  if (env.NODE_ENV === 'production') {
    throw new EnvError(['SERVICE_TOKEN_SECRET: required in production (at least 32 characters)']);
  }
  return DEVELOPMENT_SERVICE_TOKEN_SECRET;
}
