import { type Parley, sharedParley, type SignedInUser } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup, ok } from '../conversations/operations.js';
import { eventOf, useRealtime, type EventSubscription } from './operations.js';

/**
 * A profile change reaches its user and their contacts from the users service (`users.updated`) and the
 * fellow members users does not know of from the conversations service (`conversations.fellow-member-updated`,
 * made from users' event read off a durable stream): each subscriber gets exactly one `UserUpdated` per change,
 * whichever way they may see the user, and none across a block.
 *
 * "Exactly one" without waiting for time: after ann's change, cy changes their profile too, and cy reaches the
 * subscribers below only as a fellow member, i.e. through the conversations service, which handles the stream in
 * order. Every `UserUpdated` of ann's change, from either service, is in the realtime log before cy's (users
 * appends its own before it appends to the stream): the ones a subscriber gets before cy's are all there are.
 */
let parley: Parley;

beforeAll(async () => {
  parley = await sharedParley();
});

afterAll(async () => {
  await parley?.stop();
});

const realtime = useRealtime(() => parley);

const USER_UPDATES = `subscription { events {
  __typename cursor conversationId ... on UserUpdated { user { id displayName bio } }
} }`;

type UserEvent = { __typename: string; user?: { id: string; displayName: string; bio: string | null } };

async function subscribe(user: SignedInUser) {
  return (await realtime.connect(user)).subscribe(USER_UPDATES) as EventSubscription;
}

/** The users of the `UserUpdated` events `subscription` gets, up to and including one about `last`. */
async function updatesUntil(subscription: EventSubscription, last: SignedInUser): Promise<string[]> {
  const users: string[] = [];
  for (;;) {
    const event = eventOf(await subscription.next()) as UserEvent;
    if (event.__typename !== 'UserUpdated') continue;
    users.push(event.user!.id);
    if (event.user!.id === last.id) return users;
  }
}

const updateProfile = (user: SignedInUser, input: Record<string, unknown>) =>
  ok(user, `mutation ($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }`, { input });
const addContact = (owner: SignedInUser, contact: SignedInUser) =>
  ok(owner, `mutation ($id: ID!) { addContact(userId: $id) { id } }`, { id: contact.id });
const blockUser = (blocker: SignedInUser, blocked: SignedInUser) =>
  ok(blocker, `mutation ($id: ID!) { blockUser(userId: $id) }`, { id: blocked.id });

/** ann's change, then cy's (the marker: see above). */
async function annThenCy(ann: SignedInUser, cy: SignedInUser) {
  await updateProfile(ann, { displayName: 'Ann Changed', bio: 'fellow' });
  await updateProfile(cy, { bio: 'marker' });
}

describe('UserUpdated for fellow members', () => {
  it('reaches a fellow member who is not a contact exactly once (and the user themself once)', async () => {
    const [ann, bob, cy] = await parley.registerUsers('ann', 'bob', 'cy');
    // ann was put in the group and never wrote or read there: bob sees her listed all the same.
    await createGroup(cy, [ann, bob], 'Fellows');
    const bobEvents = await subscribe(bob);
    const annEvents = await subscribe(ann);
    await realtime.live(2);

    await annThenCy(ann, cy);
    expect(await updatesUntil(bobEvents, cy)).toEqual([ann.id, cy.id]);
    expect(await updatesUntil(annEvents, cy)).toEqual([ann.id, cy.id]);
    expect(bobEvents.results.map(eventOf)).toContainEqual(
      expect.objectContaining({
        __typename: 'UserUpdated',
        conversationId: null,
        user: { id: ann.id, displayName: 'Ann Changed', bio: 'fellow' },
      }),
    );
  });

  it('reaches a contact who is also a fellow member exactly once, whichever way the contact goes', async () => {
    const [ann, dan, eve, cy] = await parley.registerUsers('ann', 'dan', 'eve', 'cy');
    await createGroup(cy, [ann, dan, eve], 'Contacts too');
    await addContact(dan, ann);
    await addContact(ann, eve);
    const danEvents = await subscribe(dan);
    const eveEvents = await subscribe(eve);
    await realtime.live(2);

    await annThenCy(ann, cy);
    expect(await updatesUntil(danEvents, cy)).toEqual([ann.id, cy.id]);
    expect(await updatesUntil(eveEvents, cy)).toEqual([ann.id, cy.id]);
  });

  it('never reaches a fellow member in a block relation with the user, either way', async () => {
    const [ann, fay, gus, hal, cy] = await parley.registerUsers('ann', 'fay', 'gus', 'hal', 'cy');
    await createGroup(cy, [ann, fay, gus, hal], 'Blocks');
    await blockUser(fay, ann);
    await blockUser(ann, gus);
    const fayEvents = await subscribe(fay);
    const gusEvents = await subscribe(gus);
    const halEvents = await subscribe(hal);
    await realtime.live(3);

    await annThenCy(ann, cy);
    expect(await updatesUntil(fayEvents, cy)).toEqual([cy.id]);
    expect(await updatesUntil(gusEvents, cy)).toEqual([cy.id]);
    // The same group's member with no block hears of ann.
    expect(await updatesUntil(halEvents, cy)).toEqual([ann.id, cy.id]);
  });
});
