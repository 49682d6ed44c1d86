import type { Resolvers } from '../generated/resolvers-types.js';
import type { UsersContext } from '../context.js';
import type { Session } from '../data/session-store.js';

export const sessionResolvers: Resolvers = {
  Session: {
    /** A session just issued by register, login or refresh is current for the tokens returned with it. */
    current: (session: Session & { current?: boolean }, _: unknown, context: UsersContext) =>
      session.current ?? session.id === context.viewer?.sessionId,
  },
};
