import type { EventStream, Logger } from '@parley/kit';
import { messageEvents } from '@parley/messages/events';
import type { FilesService } from './files-service.js';

const CONSUMER_GROUP = 'files';

/**
 * Releases the files of deleted messages, from messages' durable stream: none is missed while this service
 * is down (they would stay forever). Releasing is idempotent, so a redelivery is harmless; an event that
 * does not match its topic is logged and passed over by the stream, one that fails to apply (the database is
 * down) is retried.
 */
export function followReleasedFiles(deps: {
  stream: EventStream;
  service: Pick<FilesService, 'release'>;
  logger: Logger;
}) {
  return deps.stream.consume(messageEvents.deleted, CONSUMER_GROUP, async ({ attachmentIds }) => {
    if (attachmentIds.length > 0) await deps.service.release(attachmentIds);
  });
}
