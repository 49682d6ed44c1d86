import { randomUUID } from 'node:crypto';
import { type Parley, sharedParley, type SignedInUser } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroup, ok } from '../conversations/operations.js';
import { SEND } from '../messages/operations.js';
import { hydrations, useRealtime } from './operations.js';

const VIEWERS = 10;
const SOCKETS_PER_VIEWER = 5;

let parley: Parley;
/** The group's owner (who sends) and its other members: 10 viewers, each of them subscribed 5 times. */
let viewers: SignedInUser[];
let groupId: string;

beforeAll(async () => {
  parley = await sharedParley();
  viewers = await Promise.all(
    Array.from({ length: VIEWERS }, (_, index) => parley.registerUser(`v${index}`)),
  );
  groupId = (await createGroup(viewers[0]!, viewers.slice(1), 'Fifty')).id;
});

afterAll(async () => {
  await parley?.stop();
});

const realtime = useRealtime(() => parley);

interface MessageEvent {
  events: { __typename: string; message?: { body: string; clientMutationId?: string | null } };
}

/** 50 subscriptions of `document`, 5 sockets per viewer, counted by the router before it returns. */
async function subscribeFifty(document: string) {
  const subscriptions = await Promise.all(
    viewers.flatMap((viewer) =>
      Array.from({ length: SOCKETS_PER_VIEWER }, async () => ({
        viewer,
        subscription: (await realtime.connect(viewer)).subscribe<MessageEvent>(document),
      })),
    ),
  );
  await realtime.live(VIEWERS * SOCKETS_PER_VIEWER);
  return subscriptions;
}

/** Sends as the group's owner, with a known clientMutationId. */
async function sendToGroup(body: string) {
  const input = { conversationId: groupId, body, clientMutationId: randomUUID() };
  await ok(viewers[0]!, SEND, { input });
  return input.clientMutationId;
}

describe('hydrating an event once per selection set', () => {
  it('hydrates a message once for 50 subscribers sharing a selection without per-viewer fields', async () => {
    const subscriptions = await subscribeFifty(`subscription { events { __typename
      ... on MessageAdded { message { id seq body sender { displayName } } } } }`);
    const before = await hydrations(parley.metricsUrls.router);
    expect(before, 'router_subscription_hydrations_total').toBeTypeOf('number');

    await sendToGroup('to all fifty');

    for (const { subscription } of subscriptions) {
      expect((await subscription.next()).data?.events).toMatchObject({
        __typename: 'MessageAdded',
        message: { body: 'to all fifty', sender: { displayName: expect.any(String) } },
      });
    }
    expect(await hydrations(parley.metricsUrls.router)).toBe(before! + 1);
  });

  it('hydrates it once per viewer when the selection has a per-viewer field', async () => {
    const subscriptions = await subscribeFifty(`subscription { events { __typename
      ... on MessageAdded { message { id seq body clientMutationId } } } }`);
    const before = await hydrations(parley.metricsUrls.router);
    expect(before, 'router_subscription_hydrations_total').toBeTypeOf('number');

    const clientMutationId = await sendToGroup('to each their own');

    for (const { viewer, subscription } of subscriptions) {
      expect((await subscription.next()).data?.events).toMatchObject({
        __typename: 'MessageAdded',
        // Only the sender sees their idempotency key.
        message: {
          body: 'to each their own',
          clientMutationId: viewer === viewers[0] ? clientMutationId : null,
        },
      });
    }
    expect(await hydrations(parley.metricsUrls.router)).toBe(before! + VIEWERS);
  });
});
