import { askedIds } from '@parley/kit';
import { actorOf, type FilesContext } from '../context.js';
import { MAX_IDS_PER_CALL } from '../files-service.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const mutationResolvers: Resolvers = {
  Mutation: {
    createUpload: (_, { input }, context: FilesContext) =>
      context.service.createUpload(actorOf(context), input),
    completeUpload: (_, { fileId }, context: FilesContext) =>
      context.service.completeUpload(actorOf(context), fileId),
    /** Internal (`@inaccessible`): the messages subgraph asks, with the sender's token, just before it stores a message. */
    shareFiles: (_, { conversationId, fileIds }, context: FilesContext) =>
      context.service.shareFiles(
        actorOf(context),
        conversationId,
        askedIds(fileIds, 'fileIds', MAX_IDS_PER_CALL),
      ),
  },
};
