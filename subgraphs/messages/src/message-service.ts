import { createHash } from 'node:crypto';
import {
  badUserInput,
  codedError,
  forbidden,
  isUuid,
  notFound,
  parseInput,
  type Logger,
  type Caller,
  type Viewer,
} from '@parley/kit';
import { type Membership, type MembershipProjection, type MembershipReader } from '@parley/membership';
import type { UserRelation, UserRelationsClient } from '@parley/users/client';
import { z } from 'zod';
import type { MessageRecord, MessageStore, NewMessage, SendResult } from './data/message-store.js';
import type { OutboxRelay } from './outbox-relay.js';
import type { ConversationsClient } from './conversations-client.js';
import type { FilesClient } from './files-client.js';

/** Who is acting: the signed-in viewer, their membership reader, and what it takes to ask others for them. */
export interface Actor extends Caller {
  viewer: Viewer;
  membership: MembershipReader;
  logger: Logger;
}

export interface MessageLimits {
  maxBodyChars: number;
  maxAttachments: number;
  maxMentions: number;
  maxReactionEmoji: number;
  maxReactionsPerUser: number;
}

/** The one answer for an unknown id and for a message or conversation the viewer cannot see. */
export const messageNotFound = () => notFound('Message not found');
export const conversationNotFound = () => notFound('Conversation not found');

/** Ids compare as lower-case UUIDs everywhere (database, projection keys); clients may send either case. */
const id = z
  .string()
  .max(64)
  .transform((value) => value.toLowerCase());
/**
 * Exactly one emoji: one fully-qualified sequence (flags, keycaps, skin tones and families included), or a
 * single pictograph sent without its variation selector.
 */
// The `v` flag (Unicode sets, for RGI_Emoji) postdates the TypeScript target, hence the constructor.
const EMOJI = new RegExp('^(?:\\p{RGI_Emoji}|\\p{Extended_Pictographic})$', 'v');
export const emojiSchema = z
  .string()
  .min(1)
  .max(32)
  .refine((value) => EMOJI.test(value), { message: 'must be one emoji' });

/**
 * Text people write: any script, emoji sequences (joiners, variation selectors, tags), line breaks and
 * tabs. Refused: other control characters (NUL included), bidirectional overrides and isolates (they
 * make text read differently from how it is stored), and lone surrogates (PostgreSQL would store them
 * as U+FFFD, silently changing the text).
 */
const FORBIDDEN_TEXT = /[\p{Cc}\p{Cs}\u202a-\u202e\u2066-\u2069]/u;
const isWritableText = (value: string) => !FORBIDDEN_TEXT.test(value.replace(/[\n\r\t]/g, ''));
const writableText = () =>
  z.string().refine(isWritableText, 'must not contain control characters or malformed text');

export function createInputSchemas(limits: MessageLimits) {
  const body = writableText()
    .transform((value) => value.replace(/\r\n?/g, '\n'))
    .refine((value) => [...value].length <= limits.maxBodyChars, {
      message: `must be at most ${limits.maxBodyChars} characters`,
    })
    .transform((value) => value.trim());
  const mentions = z.array(id).max(limits.maxMentions);
  return {
    send: z
      .object({
        conversationId: id,
        body,
        clientMutationId: writableText().pipe(z.string().min(1).max(64)),
        replyToId: id.nullish().transform((value) => value ?? null),
        attachmentIds: z
          .array(z.uuid({ message: 'must be a file id' }).transform((value) => value.toLowerCase()))
          .max(limits.maxAttachments)
          .nullish()
          .transform((value) => [...new Set(value ?? [])]),
        mentions: mentions.nullish().transform((value) => value ?? []),
      })
      .refine((input) => input.body.length > 0 || input.attachmentIds.length > 0, {
        message: 'must not be empty (unless files are attached)',
        path: ['body'],
      }),
    edit: z.object({
      id,
      body: body.refine((value) => value.length > 0, 'must not be empty'),
      mentions: mentions.nullish().transform((value) => value ?? undefined),
    }),
    reaction: z.object({ messageId: id, emoji: emojiSchema }),
    search: z.object({
      query: writableText().pipe(z.string().trim().min(1).max(256)),
      conversationId: id.nullish().transform((value) => value ?? null),
    }),
  };
}

/** What a block refuses, with what the blocker is told and what the blocked user is told. */
const blockRefusals = {
  send: {
    blocker: 'You blocked this user; unblock them to send messages',
    blocked: 'You cannot send messages to this user',
  },
  edit: {
    blocker: 'You blocked this user; unblock them to edit your messages to them',
    blocked: 'You cannot edit your messages to this user',
  },
  react: {
    blocker: 'You blocked this user; unblock them to react to their messages or in your conversation',
    blocked: 'You cannot react to this user’s messages or in your conversation with them',
  },
  reply: {
    blocker: 'You blocked this user; unblock them to reply to their messages',
    blocked: 'You cannot reply to this user’s messages',
  },
} as const;

type BlockedAction = keyof typeof blockRefusals;

const inBlockRelation = (relation: UserRelation | undefined) =>
  relation !== undefined && (relation.blockedByViewer || relation.hasBlockedViewer);

/** FORBIDDEN when the actor blocked the user or the user blocked the actor. */
function refuseAcrossBlock(relation: UserRelation | undefined, action: BlockedAction) {
  if (relation?.blockedByViewer) throw forbidden(blockRefusals[action].blocker);
  if (relation?.hasBlockedViewer) throw forbidden(blockRefusals[action].blocked);
}

/**
 * The rules of messages: only members read and write; senders edit; senders and group admins delete;
 * nothing crosses a block (README, Blocks): no send, edit or reaction in a direct conversation, no
 * reaction or reply to the other's messages and no mention of them in a group. The store enforces what
 * concurrency could break; after each change the outbox is flushed so events go out before the call
 * returns (a failure there is retried by the relay's timer).
 */
export function createMessageService(deps: {
  messages: MessageStore;
  projection: MembershipProjection;
  users: UserRelationsClient;
  conversations: ConversationsClient;
  files: FilesClient;
  relay: OutboxRelay;
  limits: MessageLimits;
}) {
  const { messages } = deps;
  const schemas = createInputSchemas(deps.limits);

  async function afterCommit(actor: Actor) {
    try {
      await deps.relay.flush();
    } catch (error) {
      actor.logger.warn({ err: error }, 'committed; events left to the relay');
    }
  }

  /** The actor's membership of a conversation, or NOT_FOUND (unknown and not-a-member look the same). */
  async function requireMembership(actor: Actor, conversationId: string): Promise<Membership> {
    if (!isUuid(conversationId)) throw conversationNotFound();
    const [membership] = await actor.membership.membershipsOf(actor.viewer.userId, [conversationId]);
    if (!membership) throw conversationNotFound();
    return membership;
  }

  /** A message the actor can see, with their membership of its conversation; NOT_FOUND otherwise. */
  async function requireMessage(actor: Actor, messageId: string) {
    if (!isUuid(messageId)) throw messageNotFound();
    const [message] = await messages.byIds([messageId.toLowerCase()]);
    if (!message) throw messageNotFound();
    const [membership] = await actor.membership.membershipsOf(actor.viewer.userId, [message.conversationId]);
    if (!membership) throw messageNotFound();
    return { message, membership };
  }

  /**
   * The actor's relations with these users (the actor and duplicates left out): one call to the users
   * subgraph, none for an empty list.
   */
  async function relationsWith(actor: Actor, userIds: readonly string[]) {
    const others = [...new Set(userIds)].filter((userId) => userId !== actor.viewer.userId);
    return others.length > 0 ? deps.users(others, actor) : new Map<string, UserRelation>();
  }

  /**
   * Direct conversations only: FORBIDDEN when either member blocked the other (and, for sends, when the
   * other account is gone). Returns the actor's relations there (with the other member: nobody else is
   * in it, so they answer every later question about blocks in it); null for a group.
   */
  async function requireNoBlock(
    actor: Actor,
    conversationId: string,
    membership: Membership,
    action: BlockedAction,
  ): Promise<Map<string, UserRelation> | null> {
    if (membership.kind !== 'DIRECT') return null;
    const snapshot = await deps.projection.snapshot(conversationId);
    // Read just after the membership: missing only if Redis lost it in between. Refuse rather than skip.
    if (!snapshot) throw codedError('SERVICE_UNAVAILABLE', 'Membership is being rebuilt; retry');
    const peerId = [...snapshot.members.keys()].find((userId) => userId !== actor.viewer.userId);
    if (!peerId) return new Map();
    const relations = await relationsWith(actor, [peerId]);
    const relation = relations.get(peerId);
    refuseAcrossBlock(relation, action);
    if (action === 'send' && !relation?.exists) throw forbidden(blockRefusals.send.blocked);
    return relations;
  }

  /** The mentioned users who are members (others are dropped, as are duplicates and the sender). */
  async function memberMentions(actor: Actor, conversationId: string, userIds: string[]) {
    const candidates = [...new Set(userIds)].filter(
      (userId) => isUuid(userId) && userId !== actor.viewer.userId,
    );
    const memberships = await Promise.all(
      candidates.map((userId) => deps.projection.membershipsOf(userId, [conversationId])),
    );
    return candidates.filter((_, index) => memberships[index]?.[0]);
  }

  /** Mentions of users in a block relation with the actor are dropped: nobody is notified across a block. */
  const mentionable = (userIds: string[], relations: Map<string, UserRelation>) =>
    userIds.filter((userId) => !inBlockRelation(relations.get(userId)));

  function sendAnswer(result: SendResult): MessageRecord {
    if (result.outcome === 'conflict') {
      throw codedError('CONFLICT', 'clientMutationId was already used for a different message', {
        field: 'clientMutationId',
      });
    }
    return result.message;
  }

  /**
   * BAD_USER_INPUT unless every file is the actor's own finished upload (the files service knows). Asked
   * last before the message is stored: files then records the files as shared in the conversation, so its
   * members see them as soon as the send returns (`messages.added` confirms it; a send that fails after
   * this leaves a record that files drops within the hour).
   */
  async function shareAttachments(actor: Actor, conversationId: string, fileIds: string[]) {
    if (fileIds.length === 0) return;
    const attachable = await deps.files.shareFiles(conversationId, fileIds, actor);
    const refused = fileIds.filter((fileId) => !attachable.has(fileId));
    if (refused.length > 0) {
      throw badUserInput('attachmentIds: only your own completed uploads can be attached', {
        field: 'attachmentIds',
        fileIds: refused,
      });
    }
  }

  async function replyTarget(conversationId: string, replyToId: string | null) {
    if (replyToId === null) return null;
    const [target] = isUuid(replyToId) ? await messages.byIds([replyToId]) : [];
    if (!target || target.conversationId !== conversationId) {
      throw badUserInput('replyToId: no such message in this conversation', { field: 'replyToId' });
    }
    if (target.deletedAt) {
      throw badUserInput('replyToId: the message was deleted', { field: 'replyToId' });
    }
    return { id: target.id, threadRootId: target.threadRootId, senderId: target.senderId };
  }

  return {
    requireMembership,

    async send(actor: Actor, rawInput: unknown): Promise<MessageRecord> {
      const input = parseInput(schemas.send, rawInput);
      const membership = await requireMembership(actor, input.conversationId);
      const key = {
        senderId: actor.viewer.userId,
        clientMutationId: input.clientMutationId,
        requestHash: createHash('sha256')
          .update(
            JSON.stringify([
              input.conversationId,
              input.body,
              input.replyToId,
              input.attachmentIds,
              input.mentions,
            ]),
          )
          .digest('base64url'),
      };
      let rules: { replyTo: NewMessage['replyTo']; mentionedUserIds: string[] };
      try {
        const peerRelations = await requireNoBlock(actor, input.conversationId, membership, 'send');
        const replyTo = await replyTarget(input.conversationId, input.replyToId);
        const mentioned = await memberMentions(actor, input.conversationId, input.mentions);
        const relations =
          peerRelations ??
          (await relationsWith(actor, replyTo ? [replyTo.senderId, ...mentioned] : mentioned));
        if (replyTo && replyTo.senderId !== actor.viewer.userId) {
          refuseAcrossBlock(relations.get(replyTo.senderId), 'reply');
        }
        rules = {
          replyTo: replyTo && { id: replyTo.id, threadRootId: replyTo.threadRootId },
          mentionedUserIds: mentionable(mentioned, relations),
        };
        await shareAttachments(actor, input.conversationId, input.attachmentIds);
      } catch (refusal) {
        // A retry gets its message even if a rule would now refuse the send (a block, a deleted reply
        // target). Looked up only on refusal: a fresh send pays no extra query; store.send answers retries.
        const previous = await messages.previousSend(key);
        if (previous) return sendAnswer(previous);
        throw refusal;
      }
      const result = await messages.send({
        ...key,
        conversationId: input.conversationId,
        body: input.body,
        replyTo: rules.replyTo,
        attachmentIds: input.attachmentIds,
        mentionedUserIds: rules.mentionedUserIds,
      });
      if (result.outcome === 'created') await afterCommit(actor);
      return sendAnswer(result);
    },

    async edit(actor: Actor, rawInput: unknown): Promise<MessageRecord> {
      const input = parseInput(schemas.edit, rawInput);
      const { message, membership } = await requireMessage(actor, input.id);
      if (message.senderId !== actor.viewer.userId) throw forbidden('Only the sender can edit a message');
      if (message.deletedAt) throw badUserInput('The message was deleted', { field: 'id' });
      // In a DM the other member would read the new text; in a group, messages stay shared with everyone.
      const peerRelations = await requireNoBlock(actor, message.conversationId, membership, 'edit');
      let mentionedUserIds: string[] | undefined;
      if (input.mentions) {
        const mentioned = await memberMentions(actor, message.conversationId, input.mentions);
        mentionedUserIds = mentionable(mentioned, peerRelations ?? (await relationsWith(actor, mentioned)));
      }
      const edited = await messages.edit(message.id, { body: input.body, mentionedUserIds });
      if (!edited) throw badUserInput('The message was deleted', { field: 'id' });
      await afterCommit(actor);
      return edited;
    },

    async delete(actor: Actor, messageId: string): Promise<MessageRecord> {
      const { message, membership } = await requireMessage(actor, messageId);
      const isSender = message.senderId === actor.viewer.userId;
      const isGroupAdmin = membership.kind === 'GROUP' && membership.role !== 'MEMBER';
      if (!isSender && !isGroupAdmin) {
        throw forbidden('Only the sender or an admin of the group can delete a message');
      }
      const result = await messages.delete(message.id, actor.viewer.userId);
      if (!result) throw messageNotFound();
      if (result.deleted) await afterCommit(actor);
      return result.message;
    },

    /**
     * Search hits `offset` onwards (up to `limit`) in the conversation asked, or in every conversation of
     * the actor's (the conversations service lists them: membership is its to know).
     */
    async search(actor: Actor, rawInput: unknown, offset: number, limit: number) {
      const input = parseInput(schemas.search, rawInput);
      let conversationIds: string[];
      if (input.conversationId) {
        await requireMembership(actor, input.conversationId);
        conversationIds = [input.conversationId];
      } else {
        conversationIds = await deps.conversations.viewerConversationIds(actor);
      }
      return { input, hits: await messages.search(input.query, conversationIds, offset, limit) };
    },

    async react(actor: Actor, rawInput: unknown, add: boolean): Promise<MessageRecord> {
      const input = parseInput(schemas.reaction, rawInput);
      const { message, membership } = await requireMessage(actor, input.messageId);
      // Adding and removing alike: either is an event the other side receives.
      const peerRelations = await requireNoBlock(actor, message.conversationId, membership, 'react');
      if (!peerRelations && message.senderId !== actor.viewer.userId) {
        const relations = await relationsWith(actor, [message.senderId]);
        refuseAcrossBlock(relations.get(message.senderId), 'react');
      }
      const reaction = { messageId: message.id, userId: actor.viewer.userId, emoji: input.emoji };
      const outcome = add
        ? await messages.addReaction(reaction, {
            maxEmoji: deps.limits.maxReactionEmoji,
            maxPerUser: deps.limits.maxReactionsPerUser,
          })
        : await messages.removeReaction(reaction);
      if (outcome === 'gone') throw badUserInput('The message was deleted', { field: 'messageId' });
      if (outcome === 'limit') {
        throw badUserInput(
          `A message takes at most ${deps.limits.maxReactionEmoji} different emoji and ${deps.limits.maxReactionsPerUser} reactions per member`,
          { field: 'emoji' },
        );
      }
      if (outcome === 'added' || outcome === 'removed') await afterCommit(actor);
      return message;
    },
  };
}

export type MessageService = ReturnType<typeof createMessageService>;
