import { requireViewer, type BaseContext } from '@parley/kit';
import { type MembershipReader } from '@parley/membership';
import DataLoader from 'dataloader';
import type { FileRecord } from './data/file-store.js';
import {
  MAX_IDS_PER_CALL,
  type Actor,
  type FileLinks,
  type FilesService,
  type FileView,
} from './files-service.js';

export interface FilesContext extends BaseContext {
  service: FilesService;
  /** The caller's Authorization header, passed on when asking conversations on their behalf. */
  authorization: string;
  /** The viewer's memberships, repaired through the conversations service when the projection lost one. */
  membership: MembershipReader;
  loaders: FilesLoaders;
}

/** The signed-in caller (UNAUTHENTICATED without a viewer). */
export function actorOf(context: FilesContext): Actor {
  return {
    viewer: requireViewer(context),
    membership: context.membership,
    authorization: context.authorization,
    requestId: context.requestId,
  };
}

/**
 * Per-request batching: the attachments of a page of messages are one query of files, one of shares and one
 * read of memberships; each file's URLs are signed once per request.
 */
export function createLoaders(service: FilesService, actor: Actor | null) {
  return {
    /** A file the viewer may see; 'forbidden' when it exists but they may not; null when unknown. */
    visible: new DataLoader<string, FileRecord | 'forbidden' | null>(
      async (ids) => (actor ? service.visibleFiles(actor, ids) : ids.map(() => 'forbidden' as const)),
      { maxBatchSize: MAX_IDS_PER_CALL },
    ),
    avatar: new DataLoader<{ id: string; avatarFileId: string | null }, FileView | null, string>(
      async (users) => (actor ? service.avatarsOf(actor, users) : users.map(() => null)),
      { cacheKeyFn: (user) => `${user.id}:${user.avatarFileId ?? ''}` },
    ),
    links: new DataLoader<FileView, FileLinks, string>(
      (files) => Promise.all(files.map((file) => service.linksOf(file))),
      { cacheKeyFn: (file) => `${file.id}:${file.thumbnailOnly ? 'thumbnail' : 'all'}` },
    ),
  };
}

export type FilesLoaders = ReturnType<typeof createLoaders>;
