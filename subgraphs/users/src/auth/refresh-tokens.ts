import { createHash, randomBytes } from 'node:crypto';

/** 256 random bits, URL-safe; the server keeps only its hash. */
export const newRefreshToken = (): string => `rt_${randomBytes(32).toString('base64url')}`;

/** A fast hash suffices: the token is random and long, so there is nothing to brute-force. */
export const hashRefreshToken = (token: string): string => createHash('sha256').update(token).digest('hex');
