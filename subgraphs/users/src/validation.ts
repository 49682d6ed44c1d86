import { createPublicKey } from 'node:crypto';
import { printableText } from '@parley/kit';
import { z } from 'zod';

export const emailSchema = z.string().trim().max(254).toLowerCase().pipe(z.email());
export const usernameSchema = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9_]{3,32}$/, 'must be 3 to 32 letters, digits or underscores');
export const passwordSchema = z.string().min(8, 'must be at least 8 characters').max(256);
export const displayNameSchema = printableText(64);
export const uuidSchema = z.uuid();

export const registerInput = z.object({
  email: emailSchema,
  username: usernameSchema,
  password: passwordSchema,
  displayName: displayNameSchema.nullish(),
});

export const loginInput = z.object({
  email: z.string().trim().toLowerCase().max(254),
  password: z.string().max(256),
});

export const deleteAccountInput = z.object({ password: z.string().max(256) });

export const changePasswordInput = z.object({
  currentPassword: z.string().max(256),
  newPassword: passwordSchema,
});

export const refreshInput = z.object({ refreshToken: z.string().max(128) });

export const updateProfileInput = z.object({
  displayName: displayNameSchema.optional(),
  bio: z
    .string()
    .max(500)
    .refine(
      // Line breaks are fine in a bio; other control characters are not.
      (value) => !/\p{Cc}/u.test(value.replace(/\n/g, '')),
      'must not contain control characters',
    )
    .nullish(),
  avatarFileId: uuidSchema.nullish(),
});

export const searchInput = z.object({ query: z.string().trim().min(1).max(64) });

const KEY_BYTES = 32;

/**
 * The key in its one canonical spelling (base64url of the raw 32 bytes, so one key cannot be registered
 * twice under two encodings), or null unless it decodes to 32 bytes that are a valid point of its curve
 * (checked by Node's crypto).
 */
function canonicalPublicKey(algorithm: 'ED25519' | 'X25519', encoded: string): string | null {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) return null;
  const bytes = Buffer.from(encoded.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (bytes.length !== KEY_BYTES) return null;
  const x = bytes.toString('base64url');
  try {
    createPublicKey({
      key: { kty: 'OKP', crv: algorithm === 'ED25519' ? 'Ed25519' : 'X25519', x },
      format: 'jwk',
    });
    return x;
  } catch {
    return null;
  }
}

export const registerDeviceInput = z
  .object({
    name: printableText(64),
    keyAlgorithm: z.enum(['ED25519', 'X25519']),
    identityPublicKey: z.string().trim().max(64),
  })
  .transform((input, context) => {
    const identityPublicKey = canonicalPublicKey(input.keyAlgorithm, input.identityPublicKey);
    if (identityPublicKey === null) {
      context.addIssue({
        code: 'custom',
        path: ['identityPublicKey'],
        message: 'must be a 32-byte public key, base64 or base64url encoded',
      });
      return z.NEVER;
    }
    return { ...input, identityPublicKey };
  });
