import type { UserSummaryFragment } from '../generated/graphql';

const initials = (name: string) =>
  name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0]?.toUpperCase())
    .join('') || '?';

export const statusLabel = { ONLINE: 'online', AWAY: 'away', OFFLINE: 'offline' } as const;

/** A user's picture (or initials) with their presence dot when the viewer may see it. */
export function Avatar({
  user,
  size = 40,
}: {
  user: Pick<UserSummaryFragment, 'displayName' | 'avatar' | 'presence'> | null | undefined;
  size?: number;
}) {
  const status = user?.presence?.status;
  return (
    <span className="avatar" style={{ width: size, height: size }} aria-hidden="true">
      {user?.avatar?.thumbnailUrl ? (
        <img src={user.avatar.thumbnailUrl} alt="" />
      ) : (
        <span className="initials">{initials(user?.displayName ?? '?')}</span>
      )}
      {status && <span className={`presence-dot ${status.toLowerCase()}`} data-status={status} />}
    </span>
  );
}

export function presenceText(presence: UserSummaryFragment['presence']): string | null {
  if (!presence) return null;
  if (presence.status !== 'OFFLINE' || !presence.lastSeenAt) return statusLabel[presence.status];
  return `last seen ${new Date(String(presence.lastSeenAt)).toLocaleString()}`;
}
