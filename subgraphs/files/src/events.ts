/** What this subgraph reads of other subgraphs' events on the bus (their events.ts have the whole shapes). */
export const followedEvents = {
  messageDeleted: 'messages.deleted',
} as const;

/** The part of messages' `messages.deleted` files needs. */
export interface MessageDeletedEvent {
  /** Files the deleted message carried. */
  attachmentIds: string[];
}
