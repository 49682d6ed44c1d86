import { hashRefreshToken, newRefreshToken } from '../auth/refresh-tokens.js';
import type { PrismaClient, Session } from '../generated/prisma/client.js';
import type { Transaction } from './database.js';
import { isUuid, systemClock, type Clock } from '@parley/kit';

export type { Session };

export type RevokeReason = 'LOGOUT' | 'REVOKED' | 'REFRESH_TOKEN_REUSE' | 'PASSWORD_CHANGED';

export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

export interface IssuedSession {
  session: Session;
  refreshToken: string;
}

export type RotationResult =
  | ({ ok: true } & IssuedSession)
  | { ok: false; reason: 'REFRESH_TOKEN_INVALID' | 'SESSION_REVOKED' | 'SESSION_EXPIRED' }
  | { ok: false; reason: 'REFRESH_TOKEN_REUSED'; session: Session };

/**
 * Revokes the user's live sessions but one, in one statement; returns their ids (to revoke their access
 * tokens too). `db` is the client or the transaction it must be part of.
 */
async function revokeLiveSessionsExcept(
  db: Transaction,
  userId: string,
  keepSessionId: string,
  reason: RevokeReason,
  now: Date,
): Promise<string[]> {
  const revoked = await db.session.updateManyAndReturn({
    where: { userId, revokedAt: null, expiresAt: { gt: now }, id: { not: keepSessionId } },
    data: { revokedAt: now, revokedReason: reason },
    select: { id: true },
  });
  return revoked.map((session) => session.id);
}

/**
 * `rotatedAt` of a token retired unseen (see below): the epoch, so it is never within a grace period and
 * presenting it is always reuse. A retired token must not get a grace of its own, or a thief and the owner
 * could take turns re-presenting their old tokens without ever being caught.
 */
const RETIRED_AT = new Date(0);

/**
 * Retires the successor of `rotated`, when `rotated` may be presented again: it was rotated (exchanged, not
 * retired) within the last `graceMs`, and its successor, the one token issued after it, was never used.
 * That is a client that lost the answer to its refresh (a tab closed or reloaded while it was on its way,
 * the network gone before it arrived). The successor it never saw is retired, so presenting it later is
 * reuse. Returns false (reuse) otherwise: no grace, a token rotated longer ago, or whose chain went on.
 */
async function retireUnusedSuccessor(
  tx: Transaction,
  rotated: { id: string; sessionId: string; createdAt: Date },
  graceMs: number,
  now: Date,
): Promise<boolean> {
  if (graceMs <= 0) return false;
  const current = await tx.refreshToken.findUnique({ where: { id: rotated.id } });
  if (!current?.rotatedAt || now.getTime() - current.rotatedAt.getTime() >= graceMs) return false;
  const later = await tx.refreshToken.findMany({
    where: { sessionId: rotated.sessionId, createdAt: { gt: rotated.createdAt } },
  });
  const successor = later[0];
  if (later.length !== 1 || !successor || successor.rotatedAt) return false;
  const retired = await tx.refreshToken.updateMany({
    where: { id: successor.id, rotatedAt: null },
    data: { rotatedAt: RETIRED_AT },
  });
  return retired.count === 1;
}

/**
 * Sessions and their refresh-token families: one session per login, one live token per session. Their times
 * (expiry, rotation, revocation, last use) go by `clock`, the system's by default: a test's clock makes a
 * refresh token's lifetime or reuse grace pass at once.
 */
export function createSessionStore(
  prisma: PrismaClient,
  options: { refreshTokenTtlSeconds: number; refreshTokenReuseGraceSeconds: number; clock?: Clock },
) {
  const clock = options.clock ?? systemClock;
  const expiry = (now: Date) => new Date(now.getTime() + options.refreshTokenTtlSeconds * 1000);
  const graceMs = options.refreshTokenReuseGraceSeconds * 1000;

  return {
    /**
     * Starts a session for a user whose password hash was just checked to be `checkedPasswordHash`. The
     * user row is share-locked and the hash compared again in the same transaction: a password change or
     * an account deletion that committed meanwhile wins (null), and one still running waits for this
     * session and then ends it too.
     */
    async create(
      userId: string,
      checkedPasswordHash: string,
      client: ClientInfo,
    ): Promise<IssuedSession | null> {
      const refreshToken = newRefreshToken();
      const now = clock.now();
      const session = await prisma.$transaction(async (tx) => {
        const [user] = await tx.$queryRaw<{ password_hash: string | null }[]>`
          SELECT password_hash FROM users WHERE id = ${userId}::uuid AND deleted_at IS NULL FOR SHARE`;
        if (!user || user.password_hash !== checkedPasswordHash) return null;
        return tx.session.create({
          data: {
            userId,
            ip: client.ip,
            userAgent: client.userAgent,
            expiresAt: expiry(now),
            refreshTokens: { create: { tokenHash: hashRefreshToken(refreshToken) } },
          },
        });
      });
      return session ? { session, refreshToken } : null;
    },

    /**
     * Sets a new password hash and ends every other session of the user, in one transaction (the row
     * lock orders it against logins, see `create`). Returns the ended session ids, or null when the
     * account was deleted meanwhile.
     */
    async changePassword(
      userId: string,
      passwordHash: string,
      keepSessionId: string,
    ): Promise<string[] | null> {
      return prisma.$transaction(async (tx) => {
        const { count } = await tx.user.updateMany({
          where: { id: userId, deletedAt: null },
          data: { passwordHash },
        });
        if (count === 0) return null;
        return revokeLiveSessionsExcept(tx, userId, keepSessionId, 'PASSWORD_CHANGED', clock.now());
      });
    },

    /**
     * Exchanges a refresh token for a new one. The old token is marked rotated with a conditional update
     * under the session's lock. Presenting a rotated token again is reuse and revokes the whole session,
     * with one exception: within `refreshTokenReuseGraceSeconds` of its rotation, while its successor is
     * unused (see `retireUnusedSuccessor`), it is exchanged once more and the successor is retired.
     */
    async rotate(presented: string, client: ClientInfo): Promise<RotationResult> {
      const stored = await prisma.refreshToken.findUnique({
        where: { tokenHash: hashRefreshToken(presented) },
        include: { session: true },
      });
      if (!stored) return { ok: false, reason: 'REFRESH_TOKEN_INVALID' };
      const { session } = stored;
      // Checked before reuse, so an old token of an ended session does not overwrite why it ended.
      if (session.revokedAt) return { ok: false, reason: 'SESSION_REVOKED' };

      const refreshToken = newRefreshToken();
      const now = clock.now();
      const rotated = await prisma.$transaction(async (tx) => {
        // Lock the session first: a logout, revoke or account deletion running now either finishes
        // before this check or waits for this commit (and then revokes the new token's session too).
        // Two exchanges of one family's tokens are serialized here too. Expired by the store's clock (the
        // one that set the expiry), not the database's.
        const [live] = await tx.$queryRaw<{ revoked: boolean; expired: boolean }[]>`
          SELECT revoked_at IS NOT NULL AS revoked, expires_at <= ${now} AS expired
          FROM sessions WHERE id = ${session.id}::uuid FOR UPDATE`;
        if (!live || live.revoked) return 'SESSION_REVOKED' as const;
        if (live.expired) return 'SESSION_EXPIRED' as const;
        const claimed = await tx.refreshToken.updateMany({
          where: { id: stored.id, rotatedAt: null },
          data: { rotatedAt: now },
        });
        if (claimed.count === 0 && !(await retireUnusedSuccessor(tx, stored, graceMs, now))) return null;
        await tx.refreshToken.create({
          data: { sessionId: session.id, tokenHash: hashRefreshToken(refreshToken) },
        });
        return tx.session.update({
          where: { id: session.id },
          data: { lastUsedAt: now, expiresAt: expiry(now), ip: client.ip, userAgent: client.userAgent },
        });
      });
      if (rotated === null) {
        const revoked = await prisma.session.update({
          where: { id: session.id },
          data: { revokedAt: clock.now(), revokedReason: 'REFRESH_TOKEN_REUSE' satisfies RevokeReason },
        });
        return { ok: false, reason: 'REFRESH_TOKEN_REUSED', session: revoked };
      }
      if (typeof rotated === 'string') return { ok: false, reason: rotated };
      return { ok: true, session: rotated, refreshToken };
    },

    listActive: (userId: string): Promise<Session[]> =>
      prisma.session.findMany({
        where: { userId, revokedAt: null, expiresAt: { gt: clock.now() } },
        orderBy: { lastUsedAt: 'desc' },
      }),

    /** Revokes one of the user's own sessions; null when it is not theirs or already ended. */
    async revoke(userId: string, sessionId: string, reason: RevokeReason): Promise<Session | null> {
      if (!isUuid(sessionId)) return null;
      const [revoked] = await prisma.session.updateManyAndReturn({
        where: { id: sessionId, userId, revokedAt: null },
        data: { revokedAt: clock.now(), revokedReason: reason },
      });
      return revoked ?? null;
    },

    /**
     * Deletes sessions (with their addresses, user agents and refresh tokens) that were revoked or
     * expired before `endedBefore`: nobody can use them any more, and they are personal data.
     */
    async purgeEnded(endedBefore: Date): Promise<number> {
      const { count } = await prisma.session.deleteMany({
        where: { OR: [{ revokedAt: { lt: endedBefore } }, { expiresAt: { lt: endedBefore } }] },
      });
      return count;
    },

    revokeAllExcept: (userId: string, keepSessionId: string): Promise<string[]> =>
      revokeLiveSessionsExcept(prisma, userId, keepSessionId, 'REVOKED', clock.now()),
  };
}

export type SessionStore = ReturnType<typeof createSessionStore>;
