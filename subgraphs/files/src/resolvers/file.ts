import { requireViewer } from '@parley/kit';
import type { FilesContext } from '../context.js';
import type { FileView } from '../files-service.js';
import type { Resolvers } from '../generated/resolvers-types.js';

export const fileResolvers: Resolvers = {
  File: {
    /** Another subgraph names a file (a message's attachment): resolved only for those who may see it. */
    async __resolveReference(reference: { id?: unknown }, context: FilesContext) {
      if (typeof reference.id !== 'string' || !context.viewer) return null;
      const file = await context.loaders.visible.load(reference.id);
      return file === 'forbidden' ? null : file;
    },
    contentType: (file: FileView) => file.contentType ?? file.declaredType,
    owner: (file: FileView) => ({ id: file.ownerId }),
    async url(file: FileView, _args, context: FilesContext) {
      requireViewer(context);
      return (await context.loaders.links.load(file)).url;
    },
    async thumbnailUrl(file: FileView, _args, context: FilesContext) {
      requireViewer(context);
      return (await context.loaders.links.load(file)).thumbnailUrl;
    },
    async urlExpiresAt(file: FileView, _args, context: FilesContext) {
      requireViewer(context);
      return (await context.loaders.links.load(file)).expiresAt;
    },
  },
};
