import { badUserInput, isUuid, parseInput, printableText, requireViewer } from '@parley/kit';
import { z } from 'zod';
import type { Actor } from '../conversation-service.js';
import type { ConversationsContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';

/** Users named in one call (the users service answers at most this many at once). */
const MAX_USERS_PER_CALL = 1000;

const userIds = z.array(z.string().max(64)).max(MAX_USERS_PER_CALL);
const description = z.string().trim().max(1000).nullable();
const avatarFileId = z.uuid().nullable();

const createGroupInput = z.object({
  title: printableText(100),
  description: description.optional().transform((value) => value ?? null),
  avatarFileId: avatarFileId.optional().transform((value) => value ?? null),
  memberIds: userIds,
});

const updateGroupInput = z.object({
  title: printableText(100).optional(),
  description: description.optional(),
  avatarFileId: avatarFileId.optional(),
});

function actorOf(context: ConversationsContext): Actor {
  return {
    viewer: requireViewer(context),
    authorization: context.authorization,
    requestId: context.requestId,
    logger: context.logger,
  };
}

/** The conversation after a change, as the viewer now sees it (fresh, not from this request's cache). */
function reloaded(context: ConversationsContext, id: string) {
  return context.loaders.view
    .clear(id)
    .load(id)
    .then((view) => {
      if (!view) throw new Error(`conversation ${id} is not visible to its member after a change`);
      return view;
    });
}

export const mutationResolvers: Resolvers = {
  Mutation: {
    async createDirectConversation(_, args, context: ConversationsContext) {
      const id = await context.service.createDirect(actorOf(context), args.userId);
      return reloaded(context, id);
    },
    async createGroup(_, args, context: ConversationsContext) {
      const actor = actorOf(context);
      const { memberIds, ...details } = parseInput(createGroupInput, args.input);
      const id = await context.service.createGroup(actor, details, memberIds);
      return reloaded(context, id);
    },
    async updateGroup(_, args, context: ConversationsContext) {
      const actor = actorOf(context);
      const details = parseInput(updateGroupInput, args.input);
      // `title: null` cannot mean "clear": a group always has a title.
      if (args.input.title === null) throw badUserInput('title: a group needs a title', { field: 'title' });
      await context.service.updateGroup(actor, args.id, details);
      return reloaded(context, args.id.toLowerCase());
    },
    async addMembers(_, args, context: ConversationsContext) {
      const actor = actorOf(context);
      await context.service.addMembers(actor, args.conversationId, parseInput(userIds, args.userIds));
      return reloaded(context, args.conversationId.toLowerCase());
    },
    removeMember: (_, args, context: ConversationsContext) =>
      context.service.removeMember(actorOf(context), args.conversationId, args.userId),
    setMemberRole: (_, args, context: ConversationsContext) =>
      context.service.setMemberRole(actorOf(context), args.conversationId, args.userId, args.role),
    async transferOwnership(_, args, context: ConversationsContext) {
      await context.service.transferOwnership(actorOf(context), args.conversationId, args.userId);
      return reloaded(context, args.conversationId.toLowerCase());
    },
    async leaveConversation(_, args, context: ConversationsContext) {
      await context.service.leave(actorOf(context), args.id);
      return args.id;
    },
    async deleteConversation(_, args, context: ConversationsContext) {
      await context.service.delete(actorOf(context), args.id);
      return args.id;
    },
    async updateConversationSettings(_, args, context: ConversationsContext) {
      const { archived, pinned } = args.input;
      const mutedUntil =
        args.input.mutedUntil === undefined || args.input.mutedUntil === null
          ? args.input.mutedUntil
          : new Date(args.input.mutedUntil);
      if (archived === null || pinned === null) {
        throw badUserInput('archived and pinned are true or false; omit them to keep', {
          field: archived === null ? 'archived' : 'pinned',
        });
      }
      await context.service.updateSettings(actorOf(context), args.id, { mutedUntil, archived, pinned });
      return reloaded(context, args.id.toLowerCase());
    },
    async markRead(_, args, context: ConversationsContext) {
      if (args.upToSeq < 0) throw badUserInput('upToSeq must be 0 or more', { field: 'upToSeq' });
      await context.service.moveMarker(actorOf(context), 'read', args.conversationId, args.upToSeq);
      return reloaded(context, args.conversationId.toLowerCase());
    },
    async markDelivered(_, args, context: ConversationsContext) {
      if (args.upToSeq < 0) throw badUserInput('upToSeq must be 0 or more', { field: 'upToSeq' });
      await context.service.moveMarker(actorOf(context), 'delivered', args.conversationId, args.upToSeq);
      return reloaded(context, args.conversationId.toLowerCase());
    },
    async syncMembershipProjection(_, args, context: ConversationsContext) {
      requireViewer(context);
      const ids = [...new Set(parseInput(userIds, args.conversationIds).filter(isUuid))];
      for (const id of ids) await context.relay.syncProjection(id.toLowerCase());
      return true;
    },
  },
};
