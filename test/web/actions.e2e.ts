import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmedMessage, register, startWebStack, type WebStack } from './browser.js';

/** The message whose own text is `text` (a reply quoting it is another). */
const messageItem = (page: Page, text: string) =>
  page
    .getByTestId('message')
    .filter({ has: page.getByTestId('message-body').getByText(text, { exact: true }) });

async function send(page: Page, text: string) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.keyboard.press('Enter');
  await confirmedMessage(page, text).waitFor();
}

/** What a person does with messages, groups and their account, in the browser, seen by the others live. */
describe('web app: messages, groups and settings', () => {
  let stack: WebStack;
  let ann: Page;
  let ben: Page;
  let cat: Page;
  let benName: string;
  let catName: string;

  beforeAll(async () => {
    stack = await startWebStack('web_actions');
    [ann, ben, cat] = await Promise.all([stack.openPage(), stack.openPage(), stack.openPage()]);
    await register(ann, 'Ann');
    benName = await register(ben, 'Ben');
    catName = await register(cat, 'Cat');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('creates a group the members see, with messages edited, reacted to, replied to and deleted live', async () => {
    await ann.getByRole('button', { name: 'New group' }).click();
    await ann.getByLabel('Group name').fill('Lunch crew');
    for (const name of [benName, catName]) {
      await ann.getByLabel('Search people').fill(name);
      await ann
        .getByRole('listitem')
        .filter({ hasText: `@${name}` })
        .getByRole('button', { name: 'Add' })
        .click();
    }
    await ann.getByRole('button', { name: 'Create group' }).click();
    await ann.waitForURL(/\/c\//);
    await send(ann, 'Pizza or sushi?');

    await ben.getByTestId('conversation-item').filter({ hasText: 'Lunch crew' }).click();
    await messageItem(ben, 'Pizza or sushi?').waitFor();
    await cat.getByTestId('conversation-item').filter({ hasText: 'Lunch crew' }).click();

    // Ben reacts; Ann sees the count.
    await messageItem(ben, 'Pizza or sushi?').focus();
    await messageItem(ben, 'Pizza or sushi?').getByRole('button', { name: 'React 👍' }).click();
    await messageItem(ann, 'Pizza or sushi?').getByRole('button', { name: '👍 1' }).waitFor();

    // Cat replies to it; the reply quotes it for everyone.
    await messageItem(cat, 'Pizza or sushi?').focus();
    await messageItem(cat, 'Pizza or sushi?').getByRole('button', { name: 'Reply' }).click();
    await send(cat, 'Sushi!');
    await messageItem(ann, 'Sushi!').locator('blockquote').filter({ hasText: 'Pizza or sushi?' }).waitFor();

    // Ann edits her question; the others see the new text, marked edited.
    await messageItem(ann, 'Pizza or sushi?').focus();
    await messageItem(ann, 'Pizza or sushi?').getByRole('button', { name: 'Edit' }).click();
    await ann.getByLabel('Edit message').fill('Pizza, sushi or tacos?');
    await ann.getByLabel('Edit message').press('Enter');
    await messageItem(ben, 'Pizza, sushi or tacos?').filter({ hasText: 'edited' }).waitFor();
    await messageItem(cat, 'Sushi!')
      .locator('blockquote')
      .filter({ hasText: 'Pizza, sushi or tacos?' })
      .waitFor();

    // A thread: Ann opens it from the reply count; Cat answers in it; Ann's open thread and Ben's count follow live.
    await messageItem(ann, 'Pizza, sushi or tacos?').getByRole('button', { name: '1 reply' }).click();
    const annThread = ann.getByRole('complementary', { name: 'Thread' });
    await annThread.getByTestId('message-body').getByText('Sushi!', { exact: true }).waitFor();
    await messageItem(cat, 'Pizza, sushi or tacos?').focus();
    await messageItem(cat, 'Pizza, sushi or tacos?').getByRole('button', { name: 'Thread' }).click();
    await cat.getByLabel('Reply in thread').fill('Tacos, then.');
    await cat.getByLabel('Reply in thread').press('Enter');
    await annThread.getByTestId('message-body').getByText('Tacos, then.', { exact: true }).waitFor();
    expect(await annThread.getByTestId('message-body').allTextContents()).toEqual([
      'Pizza, sushi or tacos?',
      'Sushi!',
      'Tacos, then.',
    ]);
    await messageItem(ben, 'Pizza, sushi or tacos?').getByRole('button', { name: '2 replies' }).waitFor();
    // Escape closes it.
    await ann.getByLabel('Reply in thread').press('Escape');
    await expect.poll(() => annThread.count()).toBe(0);

    // Ben deletes a message of his own; everyone sees the tombstone.
    await send(ben, 'oops, wrong chat');
    await messageItem(cat, 'oops, wrong chat').waitFor();
    ben.once('dialog', (dialog) => void dialog.accept());
    await messageItem(ben, 'oops, wrong chat').focus();
    await messageItem(ben, 'oops, wrong chat').getByRole('button', { name: 'Delete' }).click();
    await cat.getByText('This message was deleted').waitFor();
    expect(await messageItem(cat, 'oops, wrong chat').count()).toBe(0);
  });

  it('pins, mutes and archives a conversation for the viewer only', async () => {
    const benItem = ben.getByTestId('conversation-item').filter({ hasText: 'Lunch crew' });
    await ben.getByRole('button', { name: 'Pin', exact: true }).click();
    await benItem.getByTitle('Pinned').waitFor();
    await ben.getByRole('button', { name: 'Mute', exact: true }).click();
    await ben.getByRole('button', { name: 'Unmute', exact: true }).waitFor();
    await benItem.getByTitle('Muted').waitFor();
    await ben.getByRole('button', { name: 'Archive', exact: true }).click();
    await expect.poll(() => benItem.count()).toBe(0);
    await ben.getByRole('button', { name: 'Archived' }).click();
    await benItem.waitFor();
    // Ann's list is hers: still there, unpinned.
    const annItem = ann.getByTestId('conversation-item').filter({ hasText: 'Lunch crew' });
    await annItem.waitFor();
    expect(await annItem.getByTitle('Pinned').count()).toBe(0);
    expect(await annItem.getByTitle('Muted').count()).toBe(0);
  });

  it('changes the profile (name, picture, last seen) and signs out another session', async () => {
    const png = await sharp({ create: { width: 80, height: 80, channels: 3, background: '#cc3366' } })
      .png()
      .toBuffer();
    // A second sign-in of Ann's elsewhere, to sign out from here.
    const other = await stack.openPage();
    const email = await ann.evaluate(
      () => JSON.parse(localStorage.getItem('parley.session') ?? '{}').user.username,
    );
    await other.goto('/login');
    await other.getByLabel('Email').fill(`${email}@example.test`);
    await other.getByLabel('Password').fill('correct horse battery');
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.getByRole('complementary', { name: 'Conversations' }).waitFor();

    await ann.getByRole('link', { name: 'Profile and settings' }).click();
    await ann.getByLabel('Display name').fill('Ann Lee');
    await ann.getByRole('button', { name: 'Save profile' }).click();
    await ann.getByText('Profile saved.').waitFor();
    await ann
      .getByLabel('Change picture')
      .setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: png });
    await ann.getByText('Picture updated.').waitFor();
    await ann.getByLabel('Hide when I was last seen').click();
    await expect.poll(() => ann.getByLabel('Hide when I was last seen').isChecked()).toBe(true);

    const sessions = ann.getByRole('region', { name: 'Sessions' }).getByRole('listitem');
    await expect.poll(() => sessions.count()).toBe(2);
    await sessions
      .filter({ has: ann.getByRole('button', { name: 'Sign out' }) })
      .getByRole('button')
      .click();
    await expect.poll(() => sessions.count()).toBe(1);
    // The other browser is signed out: its next request or its socket learns the session is gone.
    await other.reload();
    await other.getByRole('heading', { name: 'Sign in to Parley' }).waitFor({ timeout: 20_000 });

    // Ben sees the new name in the group the next time he loads it.
    await ben.reload();
    await expect.poll(() => ben.getByText('Ann Lee').count(), { timeout: 15_000 }).toBeGreaterThan(0);
  });
});
