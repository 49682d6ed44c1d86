import type { EventStream, Logger } from '@parley/kit';
import { z } from 'zod';
import type { FilesService } from './files-service.js';

/** What this subgraph reads of other subgraphs' events (their events.ts have the whole shapes). */
export const followedEvents = {
  messageDeleted: 'messages.deleted',
} as const;

const CONSUMER_GROUP = 'files';

/** The part of messages' `messages.deleted` files needs: the files the deleted message carried. */
const messageDeleted = z.object({ attachmentIds: z.array(z.string()) });

/**
 * Releases the files of deleted messages, from messages' durable stream: none is missed while this service
 * is down (they would stay forever). Releasing is idempotent, so a redelivery is harmless; an event that
 * does not parse is logged and skipped, one that fails to apply (the database is down) is retried.
 */
export function followReleasedFiles(deps: {
  stream: EventStream;
  service: Pick<FilesService, 'release'>;
  logger: Logger;
}) {
  return deps.stream.consume(followedEvents.messageDeleted, CONSUMER_GROUP, async (payload) => {
    const event = messageDeleted.safeParse(payload);
    if (!event.success) {
      deps.logger.warn(
        { issues: event.error.issues },
        `ignored a malformed ${followedEvents.messageDeleted} event`,
      );
      return;
    }
    if (event.data.attachmentIds.length > 0) await deps.service.release(event.data.attachmentIds);
  });
}
