import { conflict, forbidden, unauthenticated, type PubSub, type SessionRevocations } from '@parley/kit';
import { uniqueViolationField } from '../data/database.js';
import type { ClientInfo, RevokeReason, Session, SessionStore } from '../data/session-store.js';
import type { User, UserStore } from '../data/user-store.js';
import { userEvents } from '../events.js';
import { accountDeleted, invalidCredentials } from './auth-errors.js';
import type { Keyring } from './keyring.js';
import type { LoginThrottle } from './login-throttle.js';
import { hashPassword, verifyPassword } from './passwords.js';

export interface SignedIn {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  user: User;
  /** `current`: this is the session the new tokens belong to. */
  session: Session & { current: boolean };
}

export interface AuthServiceDeps {
  users: UserStore;
  sessions: SessionStore;
  keyring: Keyring;
  throttle: LoginThrottle;
  revocations: SessionRevocations;
  events: PubSub;
  accessTokenTtlSeconds: number;
}

/** Registration, login, refresh-token rotation and session revocation. */
/** The throttle budget of password re-checks (changePassword, deleteAccount), apart from logins'. */
const reauthAccount = (userId: string) => `reauth:${userId}`;

export function createAuthService(deps: AuthServiceDeps) {
  /** `issued` null: the password changed or the account went away between the check and the session. */
  const signIn = async (
    user: User,
    issued: { session: Session; refreshToken: string } | null,
  ): Promise<SignedIn> => {
    if (!issued) throw invalidCredentials();
    const access = await deps.keyring.signAccessToken({ userId: user.id, sessionId: issued.session.id });
    return {
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken: issued.refreshToken,
      refreshTokenExpiresAt: issued.session.expiresAt,
      user,
      session: { ...issued.session, current: true },
    };
  };

  /** Access tokens of revoked sessions stop working at once everywhere, not when they expire. */
  const revokeAccess = async (userId: string, sessionIds: string[]) => {
    if (sessionIds.length === 0) return;
    await deps.revocations.revoke(sessionIds, deps.accessTokenTtlSeconds);
    await deps.events.publish(userEvents.sessionsRevoked, {
      userId,
      sessionIds,
    });
  };

  /**
   * Ends sessions with their access tokens recorded as revoked *first*: when the revocation store cannot be
   * written (Redis down), the request fails with SERVICE_UNAVAILABLE and nothing has ended, so a retry does
   * it all. Never a session ended in the database whose access tokens go on working until they expire.
   * `planned`: the live sessions `end` is about to end; any it ended besides (one started meanwhile) are
   * recorded after.
   */
  const endSessions = async <Ended extends string[] | null>(
    userId: string,
    planned: (session: Session) => boolean,
    end: () => Promise<Ended>,
  ): Promise<Ended> => {
    const plannedIds = (await deps.sessions.listActive(userId)).filter(planned).map((session) => session.id);
    if (plannedIds.length > 0) await deps.revocations.revoke(plannedIds, deps.accessTokenTtlSeconds);
    const ended = await end();
    if (ended && ended.length > 0) {
      const unplanned = ended.filter((id) => !plannedIds.includes(id));
      if (unplanned.length > 0) await deps.revocations.revoke(unplanned, deps.accessTokenTtlSeconds);
      await deps.events.publish(userEvents.sessionsRevoked, {
        userId,
        sessionIds: ended,
      });
    }
    return ended;
  };

  return {
    async register(
      input: { email: string; username: string; password: string; displayName?: string | null },
      client: ClientInfo,
    ): Promise<SignedIn> {
      await deps.throttle.register(client.ip);
      const passwordHash = await hashPassword(input.password);
      let user: User;
      try {
        user = await deps.users.create({
          email: input.email,
          username: input.username,
          displayName: input.displayName ?? input.username,
          passwordHash,
        });
      } catch (error) {
        const field = uniqueViolationField(error);
        if (field) throw conflict(`This ${field} is already taken`, { field });
        throw error;
      }
      return signIn(user, await deps.sessions.create(user.id, passwordHash, client));
    },

    async login(input: { email: string; password: string }, client: ClientInfo): Promise<SignedIn> {
      await deps.throttle.attempt(input.email, client.ip);
      const user = await deps.users.findActiveByEmail(input.email);
      if (!(await verifyPassword(user?.passwordHash, input.password)) || !user) {
        throw invalidCredentials();
      }
      await deps.throttle.succeeded(input.email, client.ip);
      return signIn(user, await deps.sessions.create(user.id, user.passwordHash!, client));
    },

    async refresh(refreshToken: string, client: ClientInfo): Promise<SignedIn> {
      const result = await deps.sessions.rotate(refreshToken, client);
      if (!result.ok) {
        if (result.reason === 'REFRESH_TOKEN_REUSED')
          await revokeAccess(result.session.userId, [result.session.id]);
        throw unauthenticated('Refresh token is not valid', { reason: result.reason });
      }
      const user = await deps.users.findById(result.session.userId);
      if (!user || user.deletedAt) throw accountDeleted();
      return signIn(user, result);
    },

    async revoke(userId: string, sessionId: string, reason: RevokeReason): Promise<Session | null> {
      let session: Session | null = null;
      await endSessions(
        userId,
        (live) => live.id === sessionId,
        async () => {
          session = await deps.sessions.revoke(userId, sessionId, reason);
          return session ? [session.id] : null;
        },
      );
      return session;
    },

    async revokeOthers(userId: string, currentSessionId: string): Promise<number> {
      const ids = await endSessions(
        userId,
        (live) => live.id !== currentSessionId,
        () => deps.sessions.revokeAllExcept(userId, currentSessionId),
      );
      return ids.length;
    },

    /**
     * Re-checks the password before anything irreversible, with an attempt budget of its own (keyed by
     * user id): a stolen session must not become an unlimited password oracle, and someone failing
     * logins on purpose must not lock the owner out of changing the password.
     */
    async confirmPassword(user: User, password: string, client: ClientInfo): Promise<void> {
      const account = reauthAccount(user.id);
      await deps.throttle.attempt(account, client.ip);
      if (!(await verifyPassword(user.passwordHash, password))) {
        throw forbidden('Wrong password', { reason: 'INVALID_CREDENTIALS' });
      }
      await deps.throttle.succeeded(account, client.ip);
    },

    /** Sets a new password and ends every other session: whoever knew the old one is signed out. */
    async changePassword(user: User, newPassword: string, currentSessionId: string): Promise<number> {
      const passwordHash = await hashPassword(newPassword);
      const ended = await endSessions(
        user.id,
        (live) => live.id !== currentSessionId,
        () => deps.sessions.changePassword(user.id, passwordHash, currentSessionId),
      );
      if (!ended) throw accountDeleted();
      return ended.length;
    },

    async deleteAccount(user: User): Promise<void> {
      await endSessions(
        user.id,
        () => true,
        () => deps.users.erase(user.id),
      );
      if (user.email) await deps.throttle.forget(user.email);
      await deps.throttle.forget(reauthAccount(user.id));
      await deps.events.publish(userEvents.deleted, { userId: user.id });
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
