import type { PrismaClient, User } from '../generated/prisma/client.js';
import { isUuid } from '@parley/kit';
import { userEvents } from '../events.js';
import { addOutboxEvent } from './outbox.js';

export type { User };

export const DELETED_DISPLAY_NAME = 'Deleted user';

export interface NewUser {
  email: string;
  username: string;
  displayName: string;
  passwordHash: string;
}

export interface ProfilePatch {
  displayName?: string;
  bio?: string | null;
  avatarFileId?: string | null;
}

/** What others see of a profile: a change to any of them is told to them. */
const PROFILE_FIELDS = ['displayName', 'bio', 'avatarFileId'] as const;

export function createUserStore(prisma: PrismaClient) {
  /** One query for any number of ids, in the order asked (for DataLoader); anything not a UUID is null. */
  async function findByIds(ids: readonly unknown[]): Promise<(User | null)[]> {
    const valid = ids.filter((id): id is string => typeof id === 'string' && isUuid(id));
    const users = valid.length ? await prisma.user.findMany({ where: { id: { in: valid } } }) : [];
    const byId = new Map(users.map((user) => [user.id, user]));
    return ids.map((id) => (typeof id === 'string' ? (byId.get(id.toLowerCase()) ?? null) : null));
  }

  return {
    create: (user: NewUser): Promise<User> => prisma.user.create({ data: user }),

    /** The users whose avatar is one of these files (ids must be UUIDs). */
    withAvatarAmong: (fileIds: readonly string[]): Promise<{ id: string; avatarFileId: string | null }[]> =>
      prisma.user.findMany({
        where: { avatarFileId: { in: [...fileIds] } },
        select: { id: true, avatarFileId: true },
      }),

    findById: async (id: string): Promise<User | null> =>
      isUuid(id) ? prisma.user.findUnique({ where: { id } }) : null,

    findByIds,

    findActiveByEmail: (email: string): Promise<User | null> =>
      prisma.user.findFirst({ where: { email, deletedAt: null } }),

    /**
     * Null when the account was deleted meanwhile: a tombstone never takes personal data back. A change of
     * what others see (display name, bio, avatar) records `users.updated` in the same transaction.
     */
    async updateProfile(id: string, patch: ProfilePatch): Promise<User | null> {
      return prisma.$transaction(async (tx) => {
        const before = await tx.user.findFirst({ where: { id, deletedAt: null } });
        if (!before) return null;
        const [updated] = await tx.user.updateManyAndReturn({ where: { id, deletedAt: null }, data: patch });
        if (!updated) return null;
        const changed = PROFILE_FIELDS.some((field) => before[field] !== updated[field]);
        if (changed) await addOutboxEvent(tx, userEvents.updated, { userId: id });
        return updated;
      });
    },

    /**
     * Users whose username or display name starts with `prefix` (case-insensitive), keyset-paginated by
     * username, without the viewer, deleted accounts, or anyone on either side of a block with the viewer.
     * Raw SQL because the display-name match must be `lower(display_name) LIKE`, the form its
     * text_pattern_ops index serves (Prisma's insensitive startsWith is an ILIKE no index can use).
     */
    async search(options: {
      viewerId: string;
      prefix: string;
      limit: number;
      afterUsername: string | null;
    }): Promise<User[]> {
      // The user's `%` and `_` are literal characters, not wildcards.
      // Lower-cased by PostgreSQL, like the indexed columns (JavaScript folds some letters differently).
      const escaped = options.prefix.replace(/[\\%_]/g, (character) => `\\${character}`);
      const matches = await prisma.$queryRaw<{ id: string }[]>`
        SELECT u.id FROM users u
        WHERE (u.username LIKE lower(${escaped}) || '%' OR lower(u.display_name) LIKE lower(${escaped}) || '%')
          AND u.deleted_at IS NULL
          AND u.id <> ${options.viewerId}::uuid
          AND (${options.afterUsername}::text IS NULL OR u.username > ${options.afterUsername}::text)
          AND NOT EXISTS (
            SELECT 1 FROM blocks b
            WHERE (b.blocker_id = u.id AND b.blocked_id = ${options.viewerId}::uuid)
               OR (b.blocker_id = ${options.viewerId}::uuid AND b.blocked_id = u.id))
        ORDER BY u.username
        LIMIT ${options.limit + 1}`;
      // The page keeps the database's order: its collation is the one the cursor comparison uses.
      const users = await findByIds(matches.map((match) => match.id));
      return users.filter((user): user is User => user !== null);
    },

    /**
     * Erases an account in one transaction: sessions (with addresses and user agents), refresh tokens,
     * contacts and blocks both ways and devices are deleted; the user row stays as a tombstone (other
     * services keep referencing its id) with every personal field cleared. Returns the revoked session ids.
     */
    async erase(id: string): Promise<string[]> {
      return prisma.$transaction(async (tx) => {
        // The user row first: its lock makes a login that checked the password just before wait, and
        // then see the account gone (SessionStore.create), so no session outlives the deletion.
        await tx.user.update({
          where: { id },
          data: {
            email: null,
            username: `deleted-${id}`,
            displayName: DELETED_DISPLAY_NAME,
            bio: null,
            avatarFileId: null,
            passwordHash: null,
            deletedAt: new Date(),
          },
        });
        const sessions = await tx.session.findMany({ where: { userId: id }, select: { id: true } });
        await tx.session.deleteMany({ where: { userId: id } });
        await tx.contact.deleteMany({ where: { OR: [{ ownerId: id }, { contactId: id }] } });
        await tx.block.deleteMany({ where: { OR: [{ blockerId: id }, { blockedId: id }] } });
        await tx.device.deleteMany({ where: { userId: id } });
        return sessions.map((session) => session.id);
      });
    },

    /** Everything stored about the user in this service except secrets (password hash, token hashes). */
    async exportData(id: string) {
      const user = await prisma.user.findUniqueOrThrow({
        where: { id },
        include: {
          sessions: { orderBy: { createdAt: 'asc' } },
          devices: { orderBy: { createdAt: 'asc' } },
          contacts: {
            include: { contact: { select: { id: true, username: true } } },
            orderBy: { createdAt: 'asc' },
          },
          blocks: {
            include: { blocked: { select: { id: true, username: true } } },
            orderBy: { createdAt: 'asc' },
          },
        },
      });
      return {
        exportedAt: new Date().toISOString(),
        profile: {
          id: user.id,
          email: user.email,
          username: user.username,
          displayName: user.displayName,
          bio: user.bio,
          avatarFileId: user.avatarFileId,
          createdAt: user.createdAt.toISOString(),
          updatedAt: user.updatedAt.toISOString(),
        },
        sessions: user.sessions.map((session) => ({
          id: session.id,
          ip: session.ip,
          userAgent: session.userAgent,
          createdAt: session.createdAt.toISOString(),
          lastUsedAt: session.lastUsedAt.toISOString(),
          expiresAt: session.expiresAt.toISOString(),
          revokedAt: session.revokedAt?.toISOString() ?? null,
          revokedReason: session.revokedReason,
        })),
        contacts: user.contacts.map((c) => ({ ...c.contact, addedAt: c.createdAt.toISOString() })),
        blockedUsers: user.blocks.map((b) => ({ ...b.blocked, blockedAt: b.createdAt.toISOString() })),
        devices: user.devices.map((device) => ({
          id: device.id,
          name: device.name,
          keyAlgorithm: device.keyAlgorithm,
          identityPublicKey: device.identityPublicKey,
          createdAt: device.createdAt.toISOString(),
          lastSeenAt: device.lastSeenAt.toISOString(),
        })),
      };
    },
  };
}

export type UserStore = ReturnType<typeof createUserStore>;
