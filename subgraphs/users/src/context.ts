import type { BaseContext, PubSub, ServiceAuth } from '@parley/kit';
import DataLoader from 'dataloader';
import type { AuthService } from './auth/auth-service.js';
import type { ContactStore } from './data/contact-store.js';
import type { OutboxRelay } from './data/outbox.js';
import type { DeviceStore } from './data/device-store.js';
import type { SessionStore } from './data/session-store.js';
import type { User, UserStore } from './data/user-store.js';

export interface UsersServices {
  users: UserStore;
  sessions: SessionStore;
  contacts: ContactStore;
  devices: DeviceStore;
  auth: AuthService;
  events: PubSub;
  /** Delivers the outbox's events (profile changes) after a mutation committed them. */
  relay: Pick<OutboxRelay, 'flush'>;
  /** Verifies the service tokens of service-only fields. */
  serviceAuth: ServiceAuth;
}

export interface UsersContext extends BaseContext, UsersServices {
  /** The request's Authorization header, for the service-only fields (`requireService`). */
  authorization: string | null;
  loaders: UsersLoaders;
}

/** Per-request batching: a page of 100 users costs one query per field, not 100. */
export function createLoaders(services: UsersServices, viewerId: string | null) {
  const relation = (among: (viewerId: string, ids: readonly string[]) => Promise<Set<string>>) =>
    new DataLoader<string, boolean>(async (ids) => {
      if (!viewerId) return ids.map(() => false);
      const found = await among(viewerId, ids);
      return ids.map((id) => found.has(id));
    });
  const loaders = {
    userById: new DataLoader<string, User | null>((ids) => services.users.findByIds(ids)),
    isContact: relation((viewer, ids) => services.contacts.contactsAmong(viewer, ids)),
    isBlockedByViewer: relation((viewer, ids) => services.contacts.blockedAmong(viewer, ids)),
    hasBlockedViewer: relation((viewer, ids) => services.contacts.blockersAmong(viewer, ids)),
  };
  return {
    ...loaders,
    /**
     * Forgets what this request cached about the viewer's relation to `userId`, after a mutation
     * changed it: a later field or mutation of the same operation reads it afresh.
     */
    forgetRelations(userId: string) {
      loaders.isContact.clear(userId);
      loaders.isBlockedByViewer.clear(userId);
      loaders.hasBlockedViewer.clear(userId);
    },
  };
}

export type UsersLoaders = ReturnType<typeof createLoaders>;
