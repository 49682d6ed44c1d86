import {
  badUserInput,
  codedError,
  forbidden,
  isUuid,
  notFound,
  parseInput,
  storedIds,
  type Caller,
  type Clock,
  type Logger,
  type Viewer,
} from '@parley/kit';
import { type MembershipReader } from '@parley/membership';
import { z } from 'zod';
import { ALLOWED_TYPES } from './content/content-type.js';
import { THUMBNAIL_SOURCE_TYPES } from './content/thumbnail.js';
import { originalKey, thumbnailKey, type FileRecord, type FileStore } from './data/file-store.js';
import type { ShareStore } from './data/share-store.js';
import type { UsersClient } from './users-client.js';
import type { BlobStorage, SignedRequest } from './storage/blob-storage.js';
import { verifyUpload } from './upload-verification.js';

/** The signed-in caller, their memberships (repaired through conversations with their token). */
export interface Actor extends Caller {
  viewer: Viewer;
  membership: MembershipReader;
}

export interface FileLimits {
  maxFileBytes: number;
  maxImageBytes: number;
  quotaBytes: number;
  /** How long an upload URL is valid; the upload must be completed within twice that. */
  uploadTtlSeconds: number;
  downloadTtlSeconds: number;
  /** How long a file no message carries stays attachable; it is deleted a margin after (releaseMarginSeconds). */
  releasedGraceSeconds: number;
}

export interface FilesServiceDeps {
  files: FileStore;
  /** Where files were sent: who may see them, and which are in use. */
  shares: ShareStore;
  storage: BlobStorage;
  users: UsersClient;
  limits: FileLimits;
  /** What every rule about time goes by: upload and URL expiry, quota, release and cleanup. */
  clock: Clock;
  logger: Logger;
}

export interface UploadTicket {
  file: FileRecord;
  upload: Omit<SignedRequest, 'headers'> & { headers: { name: string; value: string }[] };
}

/**
 * A file as a reader sees it. `thumbnailOnly`: seen as someone's avatar by anyone but its owner, who gets
 * the thumbnail (upright, metadata stripped) and not the original (its EXIF may say where it was taken).
 */
export type FileView = FileRecord & { thumbnailOnly?: boolean };

/** What a reader may fetch of a file: short-lived signed URLs of its bytes and thumbnail. */
export interface FileLinks {
  url: string | null;
  thumbnailUrl: string | null;
  expiresAt: Date | null;
}

/** The most ids one internal question takes (users answers as many): a request's batches are this big. */
export const MAX_IDS_PER_CALL = 1000;

export const fileNotFound = () => notFound('File not found');

/**
 * Between the end of a released file's grace (no longer attachable) and its deletion: longer than any send
 * that checked it just before takes to commit, so the cleaner's "still attached?" sees that message.
 */
export const releaseMarginSeconds = (graceSeconds: number) => Math.min(60, graceSeconds);

/**
 * A pending share older than this is a send that failed after shareFiles (refused, or the messages database
 * down): the cleaner drops it. Sends take seconds; `messages.added` confirms a successful one long before.
 */
export const PENDING_SHARE_TTL_MS = 60 * 60 * 1000;

/**
 * How long the row of a deleted message is kept: `messages.added` and `messages.deleted` are read from two
 * streams, so the addition may be read after the deletion; the row says the message is gone meanwhile.
 */
export const DELETED_SHARE_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

export const conversationNotFound = () => notFound('Conversation not found');

/** A name to show and save as: never a path, nothing that reads differently from how it is stored. */
const fileName = z
  .string()
  .trim()
  .min(1)
  .max(255)
  // Lone surrogates (\p{Cs}) would be stored as U+FFFD, silently changing the name.
  .refine((value) => !/[/\\\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u.test(value), {
    message: 'must not contain /, \\, control characters or malformed text',
  })
  .refine((value) => value !== '.' && value !== '..', { message: 'must be a file name' });

const createUploadInput = z.object({
  name: fileName,
  size: z.number().int().min(1, 'must be at least 1 byte'),
  contentType: z
    .string()
    .max(255)
    .transform((value) => value.trim().toLowerCase())
    .refine((value) => ALLOWED_TYPES.has(value), {
      message: `must be one of ${[...ALLOWED_TYPES].join(', ')}`,
    }),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits')
    .transform((value) => value.toLowerCase()),
  metadata: z
    .string()
    .max(4096)
    .refine((value) => !/\p{Cs}/u.test(value), { message: 'must be well-formed text' })
    .nullish()
    .transform((value) => value ?? null),
});

/**
 * The rules of files: anyone signed in uploads within limits and a quota; only the owner completes an
 * upload; a file is seen by its owner and by members of a conversation where it was sent (recorded here,
 * in `file_shares`, from what messages says: shareFiles before a send, its events after), and an avatar by
 * anyone who can see its user; bytes are fetched only through short-lived signed URLs handed to those
 * readers.
 */
export function createFilesService(deps: FilesServiceDeps) {
  const { files, shares, storage, limits, clock } = deps;

  const maxBytesOf = (contentType: string) =>
    THUMBNAIL_SOURCE_TYPES.has(contentType)
      ? Math.min(limits.maxImageBytes, limits.maxFileBytes)
      : limits.maxFileBytes;

  const blobKeys = (file: FileRecord) => [originalKey(file.id), thumbnailKey(file.id)];
  const releasedCutoff = (now: Date) => new Date(now.getTime() - limits.releasedGraceSeconds * 1000);

  /** completeUpload calls under way, by file: a second call for the same file waits for the first. */
  const completing = new Map<string, Promise<FileRecord>>();

  async function complete(file: FileRecord): Promise<FileRecord> {
    const verification = await verifyUpload(file, storage);
    if (!verification.ok) {
      // Refused bytes stay until the upload expires and the cleaner deletes them with the record: deleting
      // them now would free the key for another PUT to the same URL while a slower check still runs.
      throw badUserInput(verification.reason, { field: 'fileId', reason: verification.code });
    }
    const ready = await files.markReady(file.id, verification.found, clock.now());
    if (ready) return ready;
    // Completed by another instance, or its time ran out meanwhile (the cleaner may have run already).
    const [now] = await files.byIds([file.id]);
    if (now?.status === 'READY') return now;
    await storage.delete([thumbnailKey(file.id)]);
    throw badUserInput('The upload expired; create a new one', { field: 'fileId', reason: 'EXPIRED' });
  }

  /**
   * Of these ids, the actor's own READY files, in the order asked (what messages lets them attach); not
   * one released past its grace period, which the cleaner may be deleting.
   */
  async function attachableFileIds(actor: Actor, ids: readonly string[]): Promise<string[]> {
    const wanted = storedIds(ids);
    const cutoff = releasedCutoff(clock.now());
    const attachable = new Set(
      (await files.byIds(wanted))
        .filter(
          (file) =>
            file.ownerId === actor.viewer.userId &&
            file.status === 'READY' &&
            !(file.releasedAt && file.releasedAt <= cutoff),
        )
        .map((file) => file.id),
    );
    return wanted.filter((id) => attachable.has(id));
  }

  return {
    /** What the actor may upload, and how much of their quota they use. */
    async uploadLimits(actor: Actor) {
      return {
        maxFileBytes: limits.maxFileBytes,
        maxImageBytes: Math.min(limits.maxImageBytes, limits.maxFileBytes),
        allowedTypes: [...ALLOWED_TYPES],
        quotaBytes: limits.quotaBytes,
        usedBytes: await files.usedBytes(actor.viewer.userId, clock.now()),
      };
    },

    async createUpload(actor: Actor, rawInput: unknown): Promise<UploadTicket> {
      const input = parseInput(createUploadInput, rawInput);
      const maxBytes = maxBytesOf(input.contentType);
      if (input.size > maxBytes) {
        throw badUserInput(`size: at most ${maxBytes} bytes for ${input.contentType}`, {
          field: 'size',
          maxBytes,
        });
      }
      const ttl = limits.uploadTtlSeconds;
      const now = clock.now();
      const created = await files.createPending(
        {
          ownerId: actor.viewer.userId,
          name: input.name,
          size: input.size,
          declaredType: input.contentType,
          sha256: input.sha256,
          metadata: input.metadata,
          // The URL must be used within `ttl`; a large upload begun just before then still has time to end.
          expiresAt: new Date(now.getTime() + 2 * ttl * 1000),
        },
        limits.quotaBytes,
        now,
      );
      if (created === 'quota') {
        const usedBytes = await files.usedBytes(actor.viewer.userId, now);
        throw codedError(
          'QUOTA_EXCEEDED',
          `This upload would take you past your ${limits.quotaBytes} bytes`,
          {
            quotaBytes: limits.quotaBytes,
            usedBytes,
          },
        );
      }
      const upload = await storage.signUpload(originalKey(created.id), {
        contentType: input.contentType,
        size: input.size,
        expiresInSeconds: ttl,
      });
      return {
        file: created,
        upload: {
          ...upload,
          headers: Object.entries(upload.headers).map(([name, value]) => ({ name, value })),
        },
      };
    },

    async completeUpload(actor: Actor, fileId: string): Promise<FileRecord> {
      const [file] = isUuid(fileId) ? await files.byIds([fileId.toLowerCase()]) : [];
      if (!file) throw fileNotFound();
      if (file.ownerId !== actor.viewer.userId) throw forbidden('Only the uploader can complete an upload');
      if (file.status === 'READY') return file;
      if (file.expiresAt && file.expiresAt <= clock.now()) {
        throw badUserInput('The upload expired; create a new one', { field: 'fileId', reason: 'EXPIRED' });
      }
      const under = completing.get(file.id) ?? complete(file).finally(() => completing.delete(file.id));
      completing.set(file.id, under);
      return under;
    },

    /**
     * Each asked id: its record when the actor may see it (their own, or READY and sent in a conversation of
     * theirs: a share row, pending or confirmed, names one they are a member of), 'forbidden' when it exists
     * but they may not, null when it does not exist. One query of shares, one read of memberships.
     */
    async visibleFiles(actor: Actor, ids: readonly string[]): Promise<(FileRecord | 'forbidden' | null)[]> {
      const found = new Map((await files.byIds(storedIds(ids))).map((file) => [file.id, file]));
      const others = [...found.values()]
        .filter((file) => file.ownerId !== actor.viewer.userId && file.status === 'READY')
        .map((file) => file.id);
      const conversationsOf = await shares.conversationsOf(others);
      const conversationIds = [...new Set([...conversationsOf.values()].flat())];
      const memberships = await actor.membership.membershipsOf(actor.viewer.userId, conversationIds);
      const mine = new Set(conversationIds.filter((_, index) => memberships[index]));
      const shared = new Set(
        others.filter((id) => (conversationsOf.get(id) ?? []).some((conversation) => mine.has(conversation))),
      );
      return ids.map((id) => {
        const file = found.get(id.toLowerCase());
        if (!file) return null;
        return file.ownerId === actor.viewer.userId || shared.has(file.id) ? file : 'forbidden';
      });
    },

    /**
     * Messages is about to store a message of the actor's carrying these files (asked with their token):
     * returns those they may attach (attachableFileIds), in the order asked. When every one is, each is
     * recorded as shared in the conversation (pending), so its members see it as soon as the send returns;
     * `messages.added` confirms it. When one is not, messages refuses the send, and nothing is recorded. The
     * actor must be a member of the conversation (NOT_FOUND, as for an unknown one).
     */
    async shareFiles(actor: Actor, conversationId: string, ids: readonly string[]): Promise<string[]> {
      if (!isUuid(conversationId)) throw conversationNotFound();
      const conversation = conversationId.toLowerCase();
      const [membership] = await actor.membership.membershipsOf(actor.viewer.userId, [conversation]);
      if (!membership) throw conversationNotFound();
      const attachable = await attachableFileIds(actor, ids);
      if (attachable.length === storedIds(ids).length) {
        await shares.recordPending(conversation, attachable, clock.now());
      }
      return attachable;
    },

    /** `messages.added`: the message carries these files in its conversation (idempotent). */
    async messageAdded(event: { conversationId: string; messageId: string; attachmentIds: string[] }) {
      const fileIds = storedIds(event.attachmentIds);
      if (fileIds.length === 0 || !isUuid(event.conversationId) || !isUuid(event.messageId)) return;
      await shares.confirm(event.conversationId.toLowerCase(), event.messageId.toLowerCase(), fileIds);
    },

    /**
     * `messages.deleted`: the message carries its files no more; those no other message carries are
     * released (deleted after the grace period unless sent again or their owner's avatar). A file only a
     * pending share names is released too: if that send succeeds, the cleaner finds its message (idempotent).
     */
    async messageDeleted(event: { conversationId: string; messageId: string; attachmentIds: string[] }) {
      const fileIds = storedIds(event.attachmentIds);
      if (fileIds.length === 0) return;
      const now = clock.now();
      if (isUuid(event.conversationId) && isUuid(event.messageId)) {
        await shares.unshare(event.conversationId.toLowerCase(), event.messageId.toLowerCase(), fileIds, now);
      }
      const { confirmed } = await shares.carried(fileIds);
      await files.release(
        fileIds.filter((id) => !confirmed.has(id)),
        now,
      );
    },

    /**
     * Each user's avatar: a READY image of their own, or null (anyone can name any id as theirs); shown as a
     * thumbnail only to anyone but its owner.
     */
    async avatarsOf(
      actor: Actor,
      users: readonly { id: string; avatarFileId: string | null }[],
    ): Promise<(FileView | null)[]> {
      const ids = users.flatMap((user) =>
        user.avatarFileId && isUuid(user.avatarFileId) ? [user.avatarFileId] : [],
      );
      const found = new Map(
        (await files.byIds(ids.map((id) => id.toLowerCase()))).map((file) => [file.id, file]),
      );
      return users.map((user) => {
        const file = user.avatarFileId ? found.get(user.avatarFileId.toLowerCase()) : undefined;
        const isOwnImage =
          file?.ownerId === user.id &&
          file.status === 'READY' &&
          THUMBNAIL_SOURCE_TYPES.has(file.contentType ?? '');
        if (!isOwnImage) return null;
        return file.ownerId === actor.viewer.userId ? file : { ...file, thumbnailOnly: true };
      });
    },

    /** Signed URLs for a reader the caller already allowed; none until READY. */
    async linksOf(file: FileView): Promise<FileLinks> {
      if (file.status !== 'READY') return { url: null, thumbnailUrl: null, expiresAt: null };
      const expiresInSeconds = limits.downloadTtlSeconds;
      const [download, thumbnail] = await Promise.all([
        file.thumbnailOnly
          ? null
          : storage.signDownload(originalKey(file.id), { expiresInSeconds, filename: file.name }),
        file.hasThumbnail ? storage.signDownload(thumbnailKey(file.id), { expiresInSeconds }) : null,
      ]);
      return {
        url: download?.url ?? null,
        thumbnailUrl: thumbnail?.url ?? null,
        expiresAt: (download ?? thumbnail)?.expiresAt ?? null,
      };
    },

    /**
     * Forgets shares no send will confirm: pending rows older than PENDING_SHARE_TTL_MS (a send that failed
     * after shareFiles) and rows of messages deleted longer than DELETED_SHARE_RETENTION_MS ago, at most
     * `limit` of each a call. Returns how many rows were dropped.
     */
    async cleanUpShares(now: Date, limit: number): Promise<number> {
      const [pending, deleted] = await Promise.all([
        shares.dropPendingBefore(new Date(now.getTime() - PENDING_SHARE_TTL_MS), limit),
        shares.dropDeletedBefore(new Date(now.getTime() - DELETED_SHARE_RETENTION_MS), limit),
      ]);
      return Math.max(pending, deleted);
    },

    /**
     * Deletes files released longer ago than the grace period and its margin that no share carries (a file
     * sent again during the grace period is kept) and that are not their owner's avatar (users is asked), at
     * most `limit` a call, bytes first; one only a pending share carries waits for that send's outcome.
     * Returns how many were deleted.
     */
    async cleanUpReleased(now: Date, limit: number): Promise<number> {
      const margin = releaseMarginSeconds(limits.releasedGraceSeconds) * 1000;
      const released = await files.releasedBefore(new Date(releasedCutoff(now).getTime() - margin), limit);
      if (released.length === 0) return 0;
      const ids = released.map((file) => file.id);
      const [carried, avatars] = await Promise.all([shares.carried(ids), deps.users.avatarsAmong(ids)]);
      // Anyone can name any file as their avatar: only the owner's own keeps it.
      const inUse = new Set(
        released
          .filter((file) => carried.confirmed.has(file.id) || avatars.get(file.id)?.includes(file.ownerId))
          .map((file) => file.id),
      );
      await files.keep([...inUse]);
      const unused = released.filter((file) => !inUse.has(file.id) && !carried.pending.has(file.id));
      for (const file of unused) {
        await storage.delete(blobKeys(file));
        await files.remove(file.id, 'READY');
      }
      return unused.length;
    },
  };
}

export type FilesService = ReturnType<typeof createFilesService>;
