import { badUserInput, forbidden, requireViewer } from '@parley/kit';
import { ALLOWED_TYPES } from '../content/content-type.js';
import { actorOf, type FilesContext } from '../context.js';
import { fileNotFound, MAX_IDS_PER_CALL } from '../files-service.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const queryResolvers: Resolvers = {
  Query: {
    async file(_, { id }, context: FilesContext) {
      requireViewer(context);
      const file = await context.loaders.visible.load(id);
      if (file === 'forbidden') throw forbidden('You may not see this file');
      if (!file) throw fileNotFound();
      return file;
    },
    async uploadLimits(_, __, context: FilesContext) {
      const actor = actorOf(context);
      const { limits } = context;
      return {
        maxFileBytes: limits.maxFileBytes,
        maxImageBytes: context.service.maxBytesOf('image/png'),
        allowedTypes: [...ALLOWED_TYPES],
        quotaBytes: limits.quotaBytes,
        usedBytes: await context.service.usedBytes(actor),
      };
    },
    /** Internal (`@inaccessible`): the messages subgraph asks, with the sender's token, before it sends. */
    async viewerAttachableFileIds(_, { fileIds }, context: FilesContext) {
      const actor = actorOf(context);
      if (fileIds.length > MAX_IDS_PER_CALL) {
        throw badUserInput(`At most ${MAX_IDS_PER_CALL} ids`, { field: 'fileIds' });
      }
      return context.service.attachableFileIds(actor, fileIds);
    },
  },
};
