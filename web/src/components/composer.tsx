'use client';

import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { useClient, useMutation } from 'urql';
import type { FileFieldsFragment, MessageFieldsFragment, SendMessageInput } from '../generated/graphql';
import { SendMessageMutation, StartTypingMutation, StopTypingMutation } from '../lib/operations';
import { createOutbox, type OutboxEntry } from '../lib/outbox';
import { uploadFile } from '../lib/upload';

/** Renew the typing indicator this often while the user types (the server ends it without renewal). */
const TYPING_RENEW_MS = 3_000;

interface PendingUpload {
  key: string;
  name: string;
  preview: string | null;
  progress: number;
  file?: FileFieldsFragment;
  error?: string;
}

/**
 * The composer's outbox (see createOutbox): sends go one at a time in the order written; one the graph could
 * not take for now is sent again by itself with the same clientMutationId, one that failed on the network when
 * the browser is back online (or by hand), one the graph refused only by hand.
 */
function useOutbox() {
  const client = useClient();
  const [entries, setEntries] = useState<readonly OutboxEntry<SendMessageInput>[]>([]);
  // Kept across renders (and after the composer closes: what was sent is still delivered).
  const [outbox] = useState(() =>
    createOutbox<SendMessageInput>({
      request: (input) => client.mutation(SendMessageMutation, { input }).toPromise(),
      onChange: setEntries,
    }),
  );
  useEffect(() => {
    const retry = () => outbox.retryOffline();
    window.addEventListener('online', retry);
    return () => window.removeEventListener('online', retry);
  }, [outbox]);
  return { entries, send: outbox.send, discard: outbox.discard };
}

export function Composer({
  conversationId,
  replyTo,
  onCancelReply,
  onSent,
  label = 'Message',
}: {
  conversationId: string;
  replyTo: MessageFieldsFragment | null;
  onCancelReply(): void;
  onSent?(): void;
  label?: string;
}) {
  const client = useClient();
  const [body, setBody] = useState('');
  const [uploads, setUploads] = useState<PendingUpload[]>([]);
  const { entries: outbox, send, discard } = useOutbox();
  const [, startTyping] = useMutation(StartTypingMutation);
  const [, stopTyping] = useMutation(StopTypingMutation);
  const typingSince = useRef(0);
  const fileInput = useRef<HTMLInputElement>(null);
  const textArea = useRef<HTMLTextAreaElement>(null);

  // Opening a conversation (or a thread) puts the cursor in its message box, as in any chat app, where a
  // keyboard is at hand: a touch screen would pop its keyboard up over the history.
  useEffect(() => {
    if (window.matchMedia('(pointer: fine)').matches) textArea.current?.focus();
  }, [conversationId]);
  // On a new reply target only: the thread panel passes its root again with every live update.
  const replyToId = replyTo?.id;
  useEffect(() => {
    if (replyToId) textArea.current?.focus();
  }, [replyToId]);

  function onChange(value: string) {
    setBody(value);
    const now = Date.now();
    if (value.trim() && now - typingSince.current > TYPING_RENEW_MS) {
      typingSince.current = now;
      void startTyping({ conversationId });
    } else if (!value.trim() && typingSince.current) {
      typingSince.current = 0;
      void stopTyping({ conversationId });
    }
  }

  function attach(files: FileList | null) {
    for (const file of Array.from(files ?? [])) {
      const key = crypto.randomUUID();
      const preview = file.type.startsWith('image/') ? URL.createObjectURL(file) : null;
      setUploads((list) => [...list, { key, name: file.name, preview, progress: 0 }]);
      const update = (change: Partial<PendingUpload>) =>
        setUploads((list) => list.map((item) => (item.key === key ? { ...item, ...change } : item)));
      uploadFile(client, file, (progress) => update({ progress })).then(
        (ready) => update({ file: ready, progress: 1 }),
        (error: unknown) => update({ error: error instanceof Error ? error.message : 'Upload failed' }),
      );
    }
    if (fileInput.current) fileInput.current.value = '';
  }

  const uploading = uploads.some((upload) => !upload.file && !upload.error);
  const ready = uploads.filter((upload) => upload.file);

  async function submit(event?: FormEvent) {
    event?.preventDefault();
    const text = body.trim();
    if ((!text && ready.length === 0) || uploading) return;
    const input: SendMessageInput = {
      conversationId,
      body: text,
      clientMutationId: crypto.randomUUID(),
      replyToId: replyTo?.id ?? null,
      attachmentIds: ready.map((upload) => upload.file!.id),
    };
    setBody('');
    for (const upload of uploads) if (upload.preview) URL.revokeObjectURL(upload.preview);
    setUploads([]);
    onCancelReply();
    typingSince.current = 0;
    // Sending ends the typing indicator on the server.
    await send(input);
    onSent?.();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void submit();
    }
  }

  return (
    <form className="composer" onSubmit={submit}>
      {outbox.length > 0 && (
        <ul className="outbox" aria-label="Messages not sent">
          {outbox.map((entry) => (
            <li key={entry.input.clientMutationId}>
              <span>{entry.input.body || 'Attachment'}</span>
              {/* Waiting for the graph is not a failure: it is said calmly, and happens by itself. */}
              {entry.state === 'waiting' || entry.state === 'queued' ? (
                <span className="muted" role="status">
                  {entry.message}
                </span>
              ) : (
                <span className="error">{entry.message}</span>
              )}
              {(entry.state === 'offline' || entry.state === 'failed') && (
                <button type="button" onClick={() => void send(entry.input)}>
                  Retry
                </button>
              )}
              <button type="button" onClick={() => discard(entry.input.clientMutationId)}>
                Discard
              </button>
            </li>
          ))}
        </ul>
      )}
      {replyTo && (
        <div className="replying">
          <span>
            Replying to <strong>{replyTo.sender.displayName}</strong>: {replyTo.body?.slice(0, 80)}
          </span>
          <button type="button" aria-label="Cancel reply" onClick={onCancelReply}>
            ✕
          </button>
        </div>
      )}
      {uploads.length > 0 && (
        <ul className="uploads" aria-label="Attachments">
          {uploads.map((upload) => (
            <li key={upload.key} className="upload">
              {upload.preview && <img src={upload.preview} alt="" />}
              <span>{upload.name}</span>
              {upload.error ? (
                <span role="alert" className="error">
                  {upload.error}
                </span>
              ) : (
                <progress value={upload.progress} max={1} aria-label={`Uploading ${upload.name}`} />
              )}
              <button
                type="button"
                aria-label={`Remove ${upload.name}`}
                onClick={() => setUploads((list) => list.filter((item) => item.key !== upload.key))}
              >
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="composer-row">
        <label className="attach-button">
          <span className="visually-hidden">Attach files</span>
          <span aria-hidden="true">📎</span>
          <input ref={fileInput} type="file" multiple onChange={(event) => attach(event.target.files)} />
        </label>
        <textarea
          ref={textArea}
          aria-label={label}
          placeholder={label}
          rows={1}
          value={body}
          maxLength={4000}
          onChange={(event) => onChange(event.target.value)}
          onKeyDown={onKeyDown}
        />
        <button
          type="submit"
          className="primary"
          disabled={uploading || (!body.trim() && ready.length === 0)}
        >
          Send
        </button>
      </div>
    </form>
  );
}
