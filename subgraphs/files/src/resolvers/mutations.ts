import { actorOf, type FilesContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const mutationResolvers: Resolvers = {
  Mutation: {
    createUpload: (_, { input }, context: FilesContext) =>
      context.service.createUpload(actorOf(context), input),
    completeUpload: (_, { fileId }, context: FilesContext) =>
      context.service.completeUpload(actorOf(context), fileId),
  },
};
