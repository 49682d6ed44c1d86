import type { Resolvers } from '../generated/resolvers-types.js';
import { notFound, parseInput, requireViewer } from '@parley/kit';
import type { UsersContext } from '../context.js';
import {
  changePasswordInput,
  deleteAccountInput,
  loginInput,
  refreshInput,
  registerInput,
} from '../validation.js';
import { requireViewerUser } from './viewer-helpers.js';

const clientOf = (context: UsersContext) => ({ ip: context.clientIp, userAgent: context.userAgent });

export const authMutationResolvers: Resolvers = {
  Mutation: {
    register: (_: unknown, args: { input: unknown }, context: UsersContext) =>
      context.auth.register(parseInput(registerInput, args.input), clientOf(context)),

    login: (_: unknown, args: { input: unknown }, context: UsersContext) =>
      context.auth.login(parseInput(loginInput, args.input), clientOf(context)),

    refreshSession: (_: unknown, args: { input: unknown }, context: UsersContext) =>
      context.auth.refresh(parseInput(refreshInput, args.input).refreshToken, clientOf(context)),

    async logout(_: unknown, __: unknown, context: UsersContext) {
      const viewer = requireViewer(context);
      await context.auth.revoke(viewer.userId, viewer.sessionId, 'LOGOUT');
      return true;
    },

    async revokeSession(_: unknown, args: { id: string }, context: UsersContext) {
      const user = await requireViewerUser(context);
      const session = await context.auth.revoke(user.id, args.id, 'REVOKED');
      if (!session) throw notFound('Session not found', { field: 'id' });
      return session;
    },

    async revokeOtherSessions(_: unknown, __: unknown, context: UsersContext) {
      const viewer = requireViewer(context);
      await requireViewerUser(context);
      return context.auth.revokeOthers(viewer.userId, viewer.sessionId);
    },

    async changePassword(_: unknown, args: { input: unknown }, context: UsersContext) {
      const viewer = requireViewer(context);
      const user = await requireViewerUser(context);
      const input = parseInput(changePasswordInput, args.input);
      await context.auth.confirmPassword(user, input.currentPassword, clientOf(context));
      return context.auth.changePassword(user, input.newPassword, viewer.sessionId);
    },

    async deleteAccount(_: unknown, args: { input: unknown }, context: UsersContext) {
      const user = await requireViewerUser(context);
      const { password } = parseInput(deleteAccountInput, args.input);
      await context.auth.confirmPassword(user, password, clientOf(context));
      await context.auth.deleteAccount(user);
      // Later fields of the same operation must see the account as gone, not the cached row.
      context.loaders.userById.clear(user.id);
      return true;
    },
  },
};
