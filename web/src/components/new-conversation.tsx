'use client';

import { useRouter } from 'next/navigation';
import { useEffect, useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import type { UserSummaryFragment } from '../generated/graphql';
import { CreateDirectConversationMutation, CreateGroupMutation, SearchUsersQuery } from '../lib/operations';
import { Avatar } from './avatar';
import { errorMessage } from '../lib/errors';

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

/** Find people by username or name; message one of them, or pick several for a new group. */
export function NewConversation() {
  const router = useRouter();
  const [text, setText] = useState('');
  const [group, setGroup] = useState<UserSummaryFragment[] | null>(null);
  const [title, setTitle] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const query = useDebounced(text.trim(), 200);
  const [{ data, fetching }] = useQuery({
    query: SearchUsersQuery,
    variables: { query },
    pause: query.length === 0,
  });
  const [direct, createDirect] = useMutation(CreateDirectConversationMutation);
  const [groupState, createGroup] = useMutation(CreateGroupMutation);
  const results = query ? (data?.searchUsers.edges.map((edge) => edge.node) ?? []) : [];

  async function message(user: UserSummaryFragment) {
    setProblem(null);
    const result = await createDirect({ userId: user.id });
    if (result.data) {
      setText('');
      router.push(`/c/${result.data.createDirectConversation.id}`);
    } else setProblem(errorMessage(result.error, 'Could not start the conversation.'));
  }

  async function submitGroup(event: FormEvent) {
    event.preventDefault();
    if (!group) return;
    setProblem(null);
    const result = await createGroup({
      input: { title: title.trim(), memberIds: group.map((user) => user.id) },
    });
    if (result.data) {
      setGroup(null);
      setTitle('');
      setText('');
      router.push(`/c/${result.data.createGroup.id}`);
    } else setProblem(errorMessage(result.error, 'Could not create the group.'));
  }

  return (
    <section className="new-conversation" aria-label="Start a conversation">
      <div className="search-row">
        <input
          type="search"
          aria-label="Search people"
          placeholder="Search people"
          value={text}
          onChange={(event) => setText(event.target.value)}
        />
        <button type="button" onClick={() => setGroup(group ? null : [])} aria-expanded={group !== null}>
          {group ? 'Cancel group' : 'New group'}
        </button>
      </div>
      {group && (
        <form className="group-form" onSubmit={submitGroup}>
          <label>
            Group name
            <input
              value={title}
              onChange={(event) => setTitle(event.target.value)}
              required
              maxLength={100}
            />
          </label>
          <p className="muted">
            {group.length
              ? `Members: ${group.map((user) => user.displayName).join(', ')}`
              : 'Add members from the search.'}
          </p>
          <button type="submit" className="primary" disabled={groupState.fetching || !title.trim()}>
            Create group
          </button>
        </form>
      )}
      {problem && (
        <p role="alert" className="error">
          {problem}
        </p>
      )}
      {query && (
        <ul className="search-results" aria-label="People found" aria-busy={fetching}>
          {results.length === 0 && !fetching && <li className="muted">Nobody found.</li>}
          {results.map((user) => (
            <li key={user.id} className="search-result">
              <Avatar user={user} size={28} />
              <span>
                {user.displayName} <span className="muted">@{user.username}</span>
              </span>
              {group ? (
                <button
                  type="button"
                  disabled={group.some((member) => member.id === user.id)}
                  onClick={() => setGroup([...group, user])}
                >
                  Add
                </button>
              ) : (
                <button type="button" disabled={direct.fetching} onClick={() => void message(user)}>
                  Message
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
