import { requireViewer } from '@parley/kit';
import { actorOf, type PresenceContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';
import type { EntityReference } from './user.js';

export const viewerResolvers: Resolvers = {
  Viewer: {
    /** Another subgraph may only resolve the viewer's own Viewer entity. */
    __resolveReference(reference: EntityReference, context: PresenceContext) {
      const viewer = requireViewer(context);
      return reference.id === viewer.userId ? { id: viewer.userId } : null;
    },
    presenceSettings: (_viewer, _args, context: PresenceContext) =>
      context.service.settings(actorOf(context)),
  },
};
