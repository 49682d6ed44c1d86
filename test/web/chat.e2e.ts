import path from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmedMessage, register, SCREENSHOTS, startWebStack, type WebStack } from './browser.js';

const bodies = (page: Page) => page.getByTestId('message-body').allTextContents();

/**
 * Two people in two browser contexts (one on a phone-sized screen), through the real web app, router in
 * persisted-only mode, every subgraph, PostgreSQL and Redis.
 */
describe('web app in Chromium', () => {
  let stack: WebStack;
  let alice: Page;
  let bob: Page;
  let bobName: string;

  beforeAll(async () => {
    stack = await startWebStack('web_chat');
    alice = await stack.openPage({ viewport: { width: 1280, height: 800 } });
    bob = await stack.openPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('registers two people', async () => {
    await alice.goto('/login');
    await alice.getByRole('heading', { name: 'Sign in to Parley' }).waitFor();
    await alice.screenshot({ path: path.join(SCREENSHOTS, 'login.png') });

    await register(alice, 'Alice');
    bobName = await register(bob, 'Bob');
    await expect.poll(() => alice.getByText('No conversations yet.').isVisible()).toBe(true);
  });

  it('starts a DM and exchanges messages in real time', async () => {
    await alice.getByLabel('Search people').fill(bobName);
    await alice
      .getByRole('listitem')
      .filter({ hasText: `@${bobName}` })
      .getByRole('button', { name: 'Message' })
      .click();
    await alice.waitForURL(/\/c\//);
    await alice.getByLabel('Message', { exact: true }).fill('Hi Bob!');
    await alice.keyboard.press('Enter');

    // Bob has the conversation open in no tab: it arrives in his list, unread.
    const item = bob.getByTestId('conversation-item').filter({ hasText: 'Alice' });
    await item.getByTestId('unread-count').filter({ hasText: '1' }).waitFor();
    // Read out as it looks: name, presence (the dot), last message, unread count.
    await bob.getByRole('link', { name: /^Alice ?, online Hi Bob! 1 unread$/ }).waitFor();
    await bob.screenshot({ path: path.join(SCREENSHOTS, 'conversation-list.png') });
    await item.click();
    await bob.getByTestId('message-body').filter({ hasText: 'Hi Bob!' }).waitFor();

    await bob.getByLabel('Message', { exact: true }).fill('Hello Alice');
    await bob.keyboard.press('Enter');
    await alice.getByTestId('message-body').filter({ hasText: 'Hello Alice' }).waitFor();
    expect(await bodies(alice)).toEqual(['Hi Bob!', 'Hello Alice']);
    expect(await bodies(bob)).toEqual(['Hi Bob!', 'Hello Alice']);
  });

  it('shows typing and "seen"', async () => {
    await bob.getByLabel('Message', { exact: true }).fill('typing something');
    await alice.getByTestId('conversation-status').filter({ hasText: 'Bob is typing…' }).waitFor();

    await alice.getByLabel('Message', { exact: true }).fill('Did you read this?');
    await alice.keyboard.press('Enter');
    await bob.getByTestId('message-body').filter({ hasText: 'Did you read this?' }).waitFor();
    // Bob's pane is open and visible: he reads it, and Alice sees that under her latest message.
    await alice.getByTestId('receipt').filter({ hasText: 'Seen' }).waitFor();
    await bob.getByLabel('Message', { exact: true }).fill('');
    await alice.getByTestId('conversation-status').filter({ hasNotText: 'typing' }).waitFor();
  });

  it('sends an image the other sees as a preview', async () => {
    const png = await sharp({ create: { width: 96, height: 64, channels: 3, background: '#3366cc' } })
      .png()
      .toBuffer();
    await alice
      .getByLabel('Attach files')
      .setInputFiles({ name: 'blue.png', mimeType: 'image/png', buffer: png });
    await alice.getByRole('button', { name: 'Send' }).and(alice.locator(':enabled')).waitFor();
    await alice.getByLabel('Message', { exact: true }).fill('A picture');
    await alice.keyboard.press('Enter');

    const preview = bob.getByRole('img', { name: 'blue.png' });
    await preview.waitFor();
    // The thumbnail really loaded (a signed URL on the file store, allowed for this origin).
    await expect
      .poll(() => preview.evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth))
      .toBeGreaterThan(0);
    await alice.screenshot({ path: path.join(SCREENSHOTS, 'conversation.png') });
    await bob.screenshot({ path: path.join(SCREENSHOTS, 'conversation-phone.png') });
  });

  it('delivers what was sent while offline once, in order, when back online', async () => {
    const before = (await bodies(bob)).length;
    await bob.context().setOffline(true);
    await bob.getByText('You are offline').waitFor();
    const sent = [1, 2, 3, 4, 5].map((n) => `while you were away ${n}`);
    for (const text of sent) {
      await alice.getByLabel('Message', { exact: true }).fill(text);
      await alice.keyboard.press('Enter');
    }
    // All five confirmed by the graph (numbered), not only shown optimistically.
    await expect.poll(async () => await confirmedMessage(alice).count()).toBe(before + 5);

    await bob.context().setOffline(false);
    await expect.poll(() => bodies(bob), { timeout: 20_000 }).toEqual([...(await bodies(alice))]);
    const received = (await bodies(bob)).filter((text) => text.startsWith('while you were away'));
    expect(received).toEqual(sent);
  });
});
