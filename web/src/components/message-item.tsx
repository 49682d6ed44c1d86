'use client';

import { useRef, useState, type KeyboardEvent } from 'react';
import { useClient, useMutation, type CombinedError } from 'urql';
import type { FileFieldsFragment, MessageFieldsFragment } from '../generated/graphql';
import { OPTIMISTIC_PREFIX } from '../lib/cache';
import { errorMessage } from '../lib/errors';
import {
  AddReactionMutation,
  DeleteMessageMutation,
  EditMessageMutation,
  FileQuery,
  RemoveReactionMutation,
} from '../lib/operations';

const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮'];

const time = (value: unknown) =>
  new Date(String(value)).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

/**
 * A file's URLs are signed for a few minutes: an image that fails to load (its URL expired while the
 * conversation stayed open) asks the graph once for fresh ones, which replace the old in the cache.
 */
function Attachment({ file }: { file: FileFieldsFragment }) {
  const client = useClient();
  const renewed = useRef(false);
  const renew = () => {
    if (renewed.current) return;
    renewed.current = true;
    void client.query(FileQuery, { id: file.id }, { requestPolicy: 'network-only' }).toPromise();
  };
  if (file.thumbnailUrl) {
    return (
      <a href={file.url ?? undefined} target="_blank" rel="noreferrer" className="attachment-image">
        <img
          src={file.thumbnailUrl}
          alt={file.name}
          width={file.width ?? undefined}
          height={file.height ?? undefined}
          data-testid="image-preview"
          onError={renew}
        />
      </a>
    );
  }
  return (
    <a href={file.url ?? undefined} download={file.name} className="attachment-file">
      📎 {file.name} <span className="muted">({Math.ceil(file.size / 1024)} KB)</span>
    </a>
  );
}

export interface MessageItemProps {
  message: MessageFieldsFragment;
  mine: boolean;
  /** The viewer may delete it: their own, or they administer the group. */
  canDelete: boolean;
  showSender: boolean;
  onReply(message: MessageFieldsFragment): void;
  onOpenThread?(message: MessageFieldsFragment): void;
}

export function MessageItem({
  message,
  mine,
  canDelete,
  showSender,
  onReply,
  onOpenThread,
}: MessageItemProps) {
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(message.body ?? '');
  const [problem, setProblem] = useState<string | null>(null);
  const [, edit] = useMutation(EditMessageMutation);
  const [, remove] = useMutation(DeleteMessageMutation);
  const [, react] = useMutation(AddReactionMutation);
  const [, unreact] = useMutation(RemoveReactionMutation);
  const pending = message.id.startsWith(OPTIMISTIC_PREFIX);
  const deleted = Boolean(message.deletedAt);

  const report = (result: { error?: CombinedError | undefined }) =>
    setProblem(result.error ? errorMessage(result.error, 'That did not work. Try again.') : null);

  async function save() {
    const body = draft.trim();
    if (!body || body === message.body) return setEditing(false);
    const result = await edit({ input: { id: message.id, body } });
    report(result);
    if (!result.error) setEditing(false);
  }

  function onEditKey(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      void save();
    } else if (event.key === 'Escape') setEditing(false);
  }

  const toggleReaction = async (emoji: string, reacted: boolean) =>
    report(await (reacted ? unreact : react)({ messageId: message.id, emoji }));

  return (
    <li
      className={`message${mine ? ' mine' : ''}${pending ? ' pending' : ''}`}
      // Focusable, so keyboard and touch users reach its actions (shown on hover or focus).
      tabIndex={0}
      data-testid="message"
      data-seq={pending ? undefined : message.seq}
      aria-label={`${message.sender.displayName} at ${time(message.createdAt)}`}
    >
      {showSender && !mine && <span className="sender">{message.sender.displayName}</span>}
      {message.replyTo && (
        <blockquote className="reply-quote">
          <span className="sender">{message.replyTo.sender.displayName}</span>{' '}
          {message.replyTo.deletedAt ? 'Message deleted' : message.replyTo.body}
        </blockquote>
      )}
      {deleted ? (
        <p className="body deleted">This message was deleted</p>
      ) : editing ? (
        <div className="edit-box">
          <textarea
            aria-label="Edit message"
            value={draft}
            onChange={(event) => setDraft(event.target.value)}
            onKeyDown={onEditKey}
            autoFocus
            maxLength={4000}
          />
          <button type="button" onClick={() => void save()}>
            Save
          </button>
          <button type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </div>
      ) : (
        message.body && (
          <p className="body" data-testid="message-body">
            {message.body}
          </p>
        )
      )}
      {!deleted && message.attachments.length > 0 && (
        <div className="attachments">
          {message.attachments.map((file) => (
            <Attachment key={file.id} file={file} />
          ))}
        </div>
      )}
      <span className="meta">
        {time(message.createdAt)}
        {message.editedAt && !deleted && ' · edited'}
        {pending && ' · sending…'}
      </span>
      {message.reactions.length > 0 && (
        <div className="reactions">
          {message.reactions.map((reaction) => (
            <button
              key={reaction.emoji}
              type="button"
              className="reaction"
              aria-pressed={reaction.viewerReacted}
              aria-label={`${reaction.emoji} ${reaction.count}${reaction.viewerReacted ? ', yours' : ''}`}
              onClick={() => void toggleReaction(reaction.emoji, reaction.viewerReacted)}
            >
              {reaction.emoji} {reaction.count}
            </button>
          ))}
        </div>
      )}
      {message.replyCount > 0 && onOpenThread && (
        <button type="button" className="link" onClick={() => onOpenThread(message)}>
          {message.replyCount} {message.replyCount === 1 ? 'reply' : 'replies'}
        </button>
      )}
      {!pending && !deleted && (
        <div className="message-actions" role="group" aria-label="Message actions">
          {QUICK_REACTIONS.map((emoji) => {
            const reacted = message.reactions.some(
              (reaction) => reaction.emoji === emoji && reaction.viewerReacted,
            );
            return (
              <button
                key={emoji}
                type="button"
                aria-label={`React ${emoji}`}
                aria-pressed={reacted}
                onClick={() => void toggleReaction(emoji, reacted)}
              >
                {emoji}
              </button>
            );
          })}
          <button type="button" onClick={() => onReply(message)}>
            Reply
          </button>
          {onOpenThread && (
            <button type="button" onClick={() => onOpenThread(message)}>
              Thread
            </button>
          )}
          {mine && (
            <button
              type="button"
              onClick={() => {
                setDraft(message.body ?? '');
                setEditing(true);
              }}
            >
              Edit
            </button>
          )}
          {canDelete && (
            <button
              type="button"
              onClick={() => {
                if (window.confirm('Delete this message for everyone?'))
                  void remove({ id: message.id }).then(report);
              }}
            >
              Delete
            </button>
          )}
        </div>
      )}
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
    </li>
  );
}
