import type { EventStream, Logger } from '@parley/kit';
import { messageEvents } from '@parley/messages/events';
import type { FilesService } from './files-service.js';

const CONSUMER_GROUP = 'files';

/**
 * Keeps this service's record of where files were sent (`file_shares`) from messages' durable streams:
 * `messages.added` confirms the files a stored message carries, `messages.deleted` unshares those of a
 * deleted message and releases the ones no other message carries. None is missed while this service is down
 * (a file would stay forever, or stay shared). The two streams are read independently, so a deletion may be
 * read before its message's addition: the deleted row stays and the addition changes nothing. Both are
 * idempotent, so a redelivery is harmless; an event that does not match its topic is logged and passed over by
 * the stream, one that fails to apply (the database is down) is retried.
 */
export async function followMessageFiles(deps: {
  stream: EventStream;
  service: Pick<FilesService, 'messageAdded' | 'messageDeleted'>;
  logger: Logger;
}): Promise<() => Promise<void>> {
  const applying =
    <T>(topic: string, apply: (event: T) => Promise<void>) =>
    async (event: T) => {
      try {
        await apply(event);
      } catch (error) {
        deps.logger.error({ err: error, event }, `could not apply a ${topic} event; it will be retried`);
        throw error;
      }
    };
  const { added, deleted } = messageEvents;
  const stopAdded = await deps.stream.consume(
    added,
    CONSUMER_GROUP,
    applying(added.name, (event) => deps.service.messageAdded(event)),
  );
  const stopDeleted = await deps.stream
    .consume(
      deleted,
      CONSUMER_GROUP,
      applying(deleted.name, (event) => deps.service.messageDeleted(event)),
    )
    .catch(async (error: unknown) => {
      await stopAdded();
      throw error;
    });
  return async () => {
    await Promise.all([stopAdded(), stopDeleted()]);
  };
}
