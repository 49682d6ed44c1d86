'use client';

import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import {
  RevokeOtherSessionsMutation,
  RevokeSessionMutation,
  SettingsQuery,
  UpdatePresenceSettingsMutation,
  UpdateProfileMutation,
} from '../lib/operations';
import { uploadFile } from '../lib/upload';
import { Avatar } from './avatar';
import { useApp } from './providers';
import { errorMessage } from '../lib/errors';
import type { CombinedError } from 'urql';

const errorText = (error: CombinedError | undefined) =>
  error ? errorMessage(error, 'That did not work. Check your connection.') : null;

/** Profile (name, bio, picture), privacy (last seen), and the account's sessions. */
export function Settings() {
  const { signOut } = useApp();
  const client = useClient();
  const [{ data }] = useQuery({ query: SettingsQuery });
  const [profileState, updateProfile] = useMutation(UpdateProfileMutation);
  const [, updatePresence] = useMutation(UpdatePresenceSettingsMutation);
  const [, revokeSession] = useMutation(RevokeSessionMutation);
  const [, revokeOthers] = useMutation(RevokeOtherSessionsMutation);
  const [status, setStatus] = useState<string | null>(null);
  const [avatarProgress, setAvatarProgress] = useState<number | null>(null);
  const me = data?.me;

  async function saveProfile(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const result = await updateProfile({
      input: { displayName: String(form.get('displayName') ?? ''), bio: String(form.get('bio') ?? '') },
    });
    setStatus(errorText(result.error) ?? 'Profile saved.');
  }

  async function changeAvatar(files: FileList | null) {
    const file = files?.[0];
    if (!file) return;
    try {
      setAvatarProgress(0);
      const uploaded = await uploadFile(client, file, setAvatarProgress);
      const result = await updateProfile({ input: { avatarFileId: uploaded.id } });
      setStatus(errorText(result.error) ?? 'Picture updated.');
    } catch (error) {
      setStatus(error instanceof Error ? error.message : 'Upload failed.');
    } finally {
      setAvatarProgress(null);
    }
  }

  if (!me)
    return (
      <section className="pane empty-pane">
        <p role="status">Loading…</p>
      </section>
    );
  return (
    <section className="pane settings" aria-labelledby="settings-title">
      <header className="pane-header">
        <Link href="/" className="back" aria-label="Back to conversations">
          ←
        </Link>
        <h2 id="settings-title">Settings</h2>
      </header>
      <div className="settings-body">
        <form onSubmit={saveProfile} className="card" aria-label="Profile">
          <h3>Profile</h3>
          <div className="avatar-row">
            <Avatar user={me.user} size={64} />
            <label className="button">
              Change picture
              <input
                type="file"
                accept="image/png,image/jpeg,image/gif,image/webp"
                className="visually-hidden"
                onChange={(event) => void changeAvatar(event.target.files)}
              />
            </label>
            {avatarProgress !== null && (
              <progress value={avatarProgress} max={1} aria-label="Uploading picture" />
            )}
          </div>
          <p className="muted">
            @{me.user.username} · {me.email}
          </p>
          <label>
            Display name
            <input name="displayName" defaultValue={me.user.displayName} required maxLength={64} />
          </label>
          <label>
            Bio
            <textarea name="bio" defaultValue={me.user.bio ?? ''} maxLength={500} rows={3} />
          </label>
          <button type="submit" className="primary" disabled={profileState.fetching}>
            Save profile
          </button>
        </form>

        <section className="card" aria-label="Privacy">
          <h3>Privacy</h3>
          <label className="checkbox">
            <input
              type="checkbox"
              checked={me.presenceSettings.hideLastSeen}
              onChange={(event) => void updatePresence({ hideLastSeen: event.target.checked })}
            />
            Hide when I was last seen
          </label>
        </section>

        <section className="card" aria-label="Sessions">
          <h3>Where you are signed in</h3>
          <ul className="sessions">
            {me.sessions.map((session) => (
              <li key={session.id}>
                <span>
                  <strong>{session.userAgent ?? 'Unknown device'}</strong>
                  <span className="muted">
                    {' '}
                    {session.ip ?? ''} · last active {new Date(String(session.lastUsedAt)).toLocaleString()}
                  </span>
                </span>
                {session.current ? (
                  <span className="muted">This device</span>
                ) : (
                  <button type="button" onClick={() => void revokeSession({ id: session.id })}>
                    Sign out
                  </button>
                )}
              </li>
            ))}
          </ul>
          <button
            type="button"
            onClick={() =>
              void revokeOthers({}).then((result) =>
                setStatus(
                  errorText(result.error) ??
                    `Signed out ${result.data?.revokeOtherSessions ?? 0} other sessions.`,
                ),
              )
            }
          >
            Sign out everywhere else
          </button>
        </section>

        <button type="button" className="danger" onClick={signOut}>
          Sign out
        </button>
        {status && <p role="status">{status}</p>}
      </div>
    </section>
  );
}
