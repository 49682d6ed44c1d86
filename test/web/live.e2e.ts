import { createPersistedDocuments } from '@parley/router/persisted';
import { createGraphQLClient } from '@parley/testkit';
import { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmedMessage, register, startWebStack, storedSession, type WebStack } from './browser.js';

/** The UI reaches the state within this bound (the acceptance: 2 s). */
const PROMPTLY = { timeout: 2_000 };
const CLIENT = 'web-live-test';

async function send(page: Page, text: string) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.keyboard.press('Enter');
  await confirmedMessage(page, text).waitFor();
}

const status = (page: Page) => page.getByTestId('conversation-status');
/** The conversation titled `title` in the list (a group's preview may name the same person). */
const listItem = (page: Page, title: string) =>
  page
    .getByTestId('conversation-item')
    .filter({ has: page.locator('.conversation-title', { hasText: new RegExp(`^${title}\\b`) }) });
/** The presence dot of the signed-in person, beside their name at the top of the list. */
const ownDot = (page: Page) => page.locator('.sidebar-header .presence-dot');
const senderNames = (page: Page, name: string) =>
  page.getByTestId('message').locator('.sender').filter({ hasText: name });

/**
 * Live state never goes stale: receipts, typing, presence, read state across tabs and profile changes
 * follow events (or are read again after a reconnect) in the open views of other people and other tabs.
 *
 * Typing indicators live 60 s here (not 6), so one that clears in time cleared because its typist went
 * away, not because it expired; the router pings every 2 s, so a socket silenced by `setOffline` is
 * found dead within seconds.
 */
describe('web app: live state', () => {
  let stack: WebStack;
  /** Two tabs of one account (one browser context: shared storage). */
  let ann: Page;
  let annTab2: Page;
  let ben: Page;
  let benName: string;
  let dm: string;
  let group: string;
  /** Sends as Ben from another device of his (an integrator's client on his token), which reads nothing. */
  let replyElsewhere: (conversationPath: string, body: string) => Promise<void>;

  beforeAll(async () => {
    stack = await startWebStack('web_live', {
      presenceEnv: { TYPING_TTL_SECONDS: '60' },
      routerEnv: { WS_KEEPALIVE_SECONDS: '2' },
    });
    const redis = new Redis(stack.parley.redisUrl);
    try {
      await createPersistedDocuments({ redis, prefix: stack.parley.redisPrefix }).register(CLIENT, [
        {
          id: 'send',
          body: 'mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { id } }',
        },
      ]);
    } finally {
      redis.disconnect();
    }
    [ann, ben] = await Promise.all([stack.openPage(), stack.openPage()]);
    await register(ann, 'Ann');
    benName = await register(ben, 'Ben');
    annTab2 = await ann.context().newPage();
    await annTab2.goto('/');
    replyElsewhere = async (conversationPath, body) => {
      const session = await storedSession(ben);
      const response = await createGraphQLClient({
        url: stack.parley.url,
        token: session!.accessToken,
        headers: { 'graphql-client-name': CLIENT },
      }).send({
        documentId: 'send',
        variables: {
          input: {
            conversationId: conversationPath.replace('/c/', ''),
            body,
            clientMutationId: crypto.randomUUID(),
          },
        },
      });
      expect(response.errors).toBeUndefined();
    };
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('shows the presence of the other side of a new DM as soon as they take part', async () => {
    await ann.getByLabel('Search people').fill(benName);
    await ann
      .getByRole('listitem')
      .filter({ hasText: `@${benName}` })
      .getByRole('button', { name: 'Message' })
      .click();
    await ann.waitForURL(/\/c\//);
    dm = new URL(ann.url()).pathname;
    await send(ann, 'Hi Ben');
    // Ben reads it: from then on Ann may see his presence (he took part), with no change of it to tell her.
    await listItem(ben, 'Ann').click();
    await confirmedMessage(ben, 'Hi Ben').waitFor();
    await status(ann)
      .filter({ hasText: /^online$/ })
      .waitFor(PROMPTLY);
  });

  it('turns "Sent" into "Seen" at once when the reader replies, in a DM and in a group', async () => {
    await ben.goto('/');
    await send(ann, 'Lunch today?');
    await ann
      .getByTestId('receipt')
      .filter({ hasText: /^(Sent|Delivered)$/ })
      .waitFor();
    await replyElsewhere(dm, 'Sure');
    await confirmedMessage(ann, 'Sure').waitFor();
    await ann
      .getByTestId('receipt')
      .filter({ hasText: /^Seen$/ })
      .waitFor(PROMPTLY);

    await ann.getByRole('button', { name: 'New group' }).click();
    await ann.getByLabel('Group name').fill('Book club');
    await ann.getByLabel('Search people').fill(benName);
    await ann
      .getByRole('listitem')
      .filter({ hasText: `@${benName}` })
      .getByRole('button', { name: 'Add' })
      .click();
    await ann.getByRole('button', { name: 'Create group' }).click();
    await ann.waitForURL((url) => url.pathname.startsWith('/c/') && url.pathname !== dm);
    group = new URL(ann.url()).pathname;
    await send(ann, 'Chapter one?');
    await ann
      .getByTestId('receipt')
      .filter({ hasText: /^(Sent|Delivered)$/ })
      .waitFor();
    await replyElsewhere(group, 'Slow start');
    await confirmedMessage(ann, 'Slow start').waitFor();
    await ann.getByTestId('receipt').filter({ hasText: 'Seen by everyone' }).waitFor(PROMPTLY);
  });

  it('clears the unread badge of one tab when the conversation is read in another', async () => {
    await ann.goto('/');
    // The list is loaded (its cursor read) before the reply: a message logged before a page reads its cursor
    // but counted by the conversations service only after the list was read shows in neither (a known gap,
    // docs/architecture.md, the event path).
    await listItem(ann, 'Ben').waitFor();
    await replyElsewhere(dm, 'Are you there?');
    for (const tab of [ann, annTab2]) {
      await listItem(tab, 'Ben').getByTestId('unread-count').waitFor();
    }
    await listItem(annTab2, 'Ben').click();
    await confirmedMessage(annTab2, 'Are you there?').waitFor();
    await listItem(ann, 'Ben')
      .getByTestId('unread-count')
      .waitFor({ state: 'detached', ...PROMPTLY });
  });

  /** Runs `during` with `page`'s browser context offline, and brings it back online whatever happens. */
  async function offline(page: Page, during: () => Promise<void>) {
    await page.context().setOffline(true);
    try {
      await page.getByText('You are offline').waitFor();
      await during();
    } finally {
      await page.context().setOffline(false);
    }
    await page.getByText('You are offline').waitFor({ state: 'detached' });
  }

  it('clears "is typing…" within 7 s of the typist going offline', async () => {
    await ann.goto(dm);
    await ben.goto(dm);
    const box = ben.getByLabel('Message', { exact: true });
    await box.fill('half a thought');
    await status(ann).filter({ hasText: 'Ben is typing…' }).waitFor();
    await offline(ben, async () => {
      await status(ann).filter({ hasNotText: 'typing' }).waitFor({ timeout: 7_000 });
    });
    // Back with an empty box and no indicator left running (the stop could not be sent while offline).
    await box.fill('');
    await box.fill('x');
    await status(ann).filter({ hasText: 'Ben is typing…' }).waitFor();
    await box.fill('');
    await status(ann).filter({ hasNotText: 'typing' }).waitFor();
  });

  it('drops typing it could not follow while the viewer was offline', async () => {
    const box = ben.getByLabel('Message', { exact: true });
    await box.fill('another thought');
    await status(ann).filter({ hasText: 'Ben is typing…' }).waitFor();
    // Ben stops while Ann cannot hear it: that indicator ended, and no expiry will end it again.
    await offline(ann, () => box.fill(''));
    await status(ann).filter({ hasNotText: 'typing' }).waitFor({ timeout: 7_000 });
  });

  it('shows a connected person online to others and to themself across quick offline/online switches', async () => {
    await ann.goto(dm);
    await status(ann)
      .filter({ hasText: /^online$/ })
      .waitFor();
    // Ann's new page follows events before Ben leaves: typing reaches it only through them.
    const box = ben.getByLabel('Message', { exact: true });
    await box.fill('x');
    await status(ann).filter({ hasText: 'Ben is typing…' }).waitFor();
    await box.fill('');
    await status(ann)
      .filter({ hasText: /^online$/ })
      .waitFor();
    // Offline long enough for Ann to see it (a precondition, however long it takes: how soon an ended
    // connection shows is the typing test's; here, two keep-alive rounds and presence's settling can pass
    // 7 s on a loaded machine)...
    await offline(ben, () =>
      status(ann)
        .filter({ hasText: /^last seen/ })
        .waitFor({ timeout: 15_000 }),
    );
    // ...then quicker switches than a change settles.
    for (let flap = 0; flap < 3; flap++) await offline(ben, async () => {});

    // Wait until the presence service has settled every change the switches made (Ben's one socket left,
    // nothing of his waiting to be published): a stale OFFLINE would have been published by then.
    const benId = (await storedSession(ben))!.user.id;
    const redis = new Redis(stack.parley.redisUrl);
    const key = (name: string) => `${stack.parley.redisPrefix}presence:${name}`;
    const unsettled = async () => {
      const record = await redis.hgetall(key(`u:${benId}`));
      const sockets = Object.keys(record).filter((field) => field.startsWith('d:')).length;
      const pending =
        (await redis.zscore(key('dirty'), benId)) ?? (await redis.zscore(key('claimed'), benId));
      return { sockets, pending };
    };
    try {
      await expect.poll(unsettled, { timeout: 10_000 }).toEqual({ sockets: 1, pending: null });
    } finally {
      redis.disconnect();
    }
    await expect.poll(() => ownDot(ben).getAttribute('data-status'), PROMPTLY).toBe('ONLINE');
    await status(ann)
      .filter({ hasText: /^online$/ })
      .waitFor(PROMPTLY);
    await listItem(ann, 'Ben').getByText(', online').waitFor(PROMPTLY);
  });

  it("shows a changed display name in the other person's open conversation (header and sender names)", async () => {
    // Ann has the group open in one tab (messages carry their sender's name) and the DM in the other.
    await ann.goto(group);
    await senderNames(ann, 'Ben').first().waitFor();
    await annTab2.goto(dm);
    await annTab2.getByRole('heading', { name: 'Ben', exact: true }).waitFor();

    await ben.goto('/settings');
    await ben.getByLabel('Display name').fill('Benedict');
    await ben.getByRole('button', { name: 'Save profile' }).click();

    await annTab2.getByRole('heading', { name: 'Benedict', exact: true }).waitFor(PROMPTLY);
    await senderNames(ann, 'Benedict').first().waitFor(PROMPTLY);
    expect(await senderNames(ann, 'Ben').allTextContents()).toEqual(['Benedict']);
  });
});
