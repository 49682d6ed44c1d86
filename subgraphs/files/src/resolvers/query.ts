import { forbidden, requireViewer } from '@parley/kit';
import { actorOf, type FilesContext } from '../context.js';
import { fileNotFound } from '../files-service.js';
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
    uploadLimits: (_, __, context: FilesContext) => context.service.uploadLimits(actorOf(context)),
  },
};
