import type { UsersContext } from '../context.js';
import type { Session } from '../data/session-store.js';

export const sessionResolvers = {
  Session: {
    current: (session: Session, _: unknown, context: UsersContext) =>
      session.id === context.viewer?.sessionId,
  },
};
