import { createGraphQLClient, createRunningTestClock, type SignedInUser } from '@parley/testkit';
import { createPersistedDocuments } from '@parley/router/persisted';
import { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accessibilityViolations,
  confirmedMessage,
  register,
  startWebStack,
  storedSession,
  type WebStack,
} from './browser.js';

/**
 * Access tokens live two minutes here: longer than the first tests take, so the token the app starts with
 * is still the one its socket carries when the clock is moved past its expiry; the app refreshes 30 s before.
 */
const ACCESS_TOKEN_TTL_SECONDS = 120;
const HISTORY = Array.from({ length: 100 }, (_, index) => `history ${index + 1}`);
const CLIENT = 'web-history-test';

const bodies = (page: Page) => page.getByTestId('message-body').allTextContents();
/**
 * The time of the services and of the app's pages: it runs with the system's, and the session test moves it
 * past the access token's refresh margin and expiry at once instead of waiting for them.
 */
const clock = createRunningTestClock();

/**
 * What a person reading a long conversation relies on: the unread count and the "new messages" line, the
 * whole history by scrolling up, a session that outlives its access tokens without a sign-in, and an app
 * usable from the keyboard alone that passes an automated accessibility audit.
 */
describe('web app: history, session and accessibility', () => {
  let stack: WebStack;
  let dee: Page;
  let eve: SignedInUser;
  let conversationId: string;
  let firstSession: NonNullable<Awaited<ReturnType<typeof storedSession>>>;
  /** Sends as Eve (or as `token`'s owner) through the router in persisted-only mode, like an integrator. */
  let call: (id: string, variables: Record<string, unknown>, token?: string) => Promise<any>;
  const sockets: string[] = [];

  beforeAll(async () => {
    stack = await startWebStack('web_history', {
      usersEnv: { ACCESS_TOKEN_TTL_SECONDS: String(ACCESS_TOKEN_TTL_SECONDS) },
      // A socket reads the clock again for its token's expiry at least every second: the router ends it
      // within a second of the clock being moved past it (its timer alone would wait for real time).
      routerEnv: { WS_SESSION_CHECK_SECONDS: '1' },
      clock,
    });
    const redis = new Redis(stack.parley.redisUrl);
    try {
      await createPersistedDocuments({ redis, prefix: stack.parley.redisPrefix }).register(CLIENT, [
        {
          id: 'dm',
          body: 'mutation Dm($userId: ID!) { createDirectConversation(userId: $userId) { id } }',
        },
        {
          id: 'send',
          body: 'mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { id seq } }',
        },
        {
          id: 'refresh',
          body: 'mutation Refresh($token: String!) { refreshSession(input: { refreshToken: $token }) { accessToken refreshToken } }',
        },
        {
          id: 'read',
          body: 'mutation Read($id: ID!, $upTo: Int!) { markRead(conversationId: $id, upToSeq: $upTo) { lastReadSeq } }',
        },
      ]);
    } finally {
      redis.disconnect();
    }
    eve = await stack.parley.registerUser('eve');
    call = async (id, variables, token = eve.accessToken) => {
      const response = await createGraphQLClient({
        url: stack.parley.url,
        token,
        headers: { 'graphql-client-name': CLIENT },
      }).send<any>({ documentId: id, variables });
      if (response.errors) throw new Error(`${id}: ${JSON.stringify(response.errors)}`);
      return response.data;
    };
    dee = await stack.openPage({ viewport: { width: 1280, height: 800 } });
    dee.on('websocket', (socket) => sockets.push(socket.url()));
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('has no accessibility violations on the sign-in and sign-up pages', async () => {
    await dee.goto('/login');
    await dee.getByRole('heading', { name: 'Sign in to Parley' }).waitFor();
    expect(await accessibilityViolations(dee)).toEqual([]);
    await dee.goto('/register');
    await dee.getByRole('button', { name: 'Create account' }).waitFor();
    expect(await accessibilityViolations(dee)).toEqual([]);
  });

  it('opens a conversation at its unread count and "new messages" line, and scrolls up through all of it', async () => {
    await register(dee, 'Dee');
    firstSession = (await storedSession(dee))!;
    ({
      createDirectConversation: { id: conversationId },
    } = await call('dm', { userId: firstSession.user.id }));
    for (const [index, body] of HISTORY.entries()) {
      await call('send', { input: { conversationId, body, clientMutationId: `history-${index}` } });
    }
    // Dee read the first 60 elsewhere (another device, with this session's token): 40 unread, more than the
    // first page of history (30) holds.
    await call('read', { id: conversationId, upTo: 60 }, firstSession.accessToken);

    await dee.reload();
    const item = dee.getByTestId('conversation-item').filter({ hasText: 'eve_' });
    await item.getByTestId('unread-count').filter({ hasText: '40' }).waitFor();
    // Read out as "40 unread", not a bare number.
    expect(await item.getByTestId('unread-count').textContent()).toBe('40 unread');
    await item.click();

    await dee.getByTestId('message-body').filter({ hasText: 'history 100' }).waitFor();
    // The line sits right above the first unread message (its page was loaded first), and the
    // conversation opens there (more unread than fit on the screen: the newest is below).
    const divider = dee.getByTestId('new-divider');
    await divider.waitFor();
    expect(await divider.textContent()).toBe('New messages');
    expect(await dee.locator('.new-divider + li').getByTestId('message-body').textContent()).toBe(
      'history 61',
    );
    const inView = (locator: typeof divider) =>
      locator.evaluate((element) => {
        const box = element.getBoundingClientRect();
        const view = element.closest('.messages-scroller')!.getBoundingClientRect();
        return box.top >= view.top && box.bottom <= view.bottom;
      });
    expect(await inView(divider)).toBe(true);
    expect(await inView(dee.getByTestId('message').filter({ hasText: 'history 100' }))).toBe(false);
    expect(await accessibilityViolations(dee)).toEqual([]);
    // One page on screen, not the whole history.
    expect((await bodies(dee)).length).toBeLessThan(HISTORY.length);

    const scroller = dee.locator('.messages-scroller');
    await expect
      .poll(
        async () => {
          await scroller.evaluate((element) => element.scrollTo({ top: 0 }));
          return (await bodies(dee)).length;
        },
        { timeout: 30_000 },
      )
      .toBe(HISTORY.length);
    await dee.getByText('Start of the conversation').waitFor();
    expect(await bodies(dee)).toEqual(HISTORY);
    // The read marker moved to the end: the badge is gone.
    await expect.poll(() => item.getByTestId('unread-count').count()).toBe(0);
  });

  it('refreshes its access token silently, and keeps receiving live messages after the first one expired', async () => {
    /** Moves the services' and the app's clocks on to `at` (ms), if they are not past it yet. */
    const advanceTo = (at: number) => stack.advanceClock(Math.max(0, at - clock.now().getTime()));
    const firstExpiry = Date.parse(firstSession.accessTokenExpiresAt);
    // The app has not needed a new token yet.
    expect((await storedSession(dee))!.accessToken).toBe(firstSession.accessToken);

    // Past the refresh margin: the app's next request refreshes first.
    await advanceTo(firstExpiry - 30_000 + 1_000);
    await dee.getByLabel('Message', { exact: true }).fill('still here');
    await dee.keyboard.press('Enter');
    await confirmedMessage(dee, 'still here').waitFor();
    const refreshed = (await storedSession(dee))!;
    expect(refreshed.accessToken).not.toBe(firstSession.accessToken);
    expect(refreshed.refreshToken).not.toBe(firstSession.refreshToken);
    expect(Date.parse(refreshed.accessTokenExpiresAt)).toBeGreaterThan(
      Date.parse(firstSession.accessTokenExpiresAt),
    );

    // The socket opened with the first token is closed by the router when it expires (4401); the app
    // reconnects with a fresh one and resumes from its cursor.
    const socketsBefore = sockets.length;
    await advanceTo(firstExpiry + 2_000);
    await expect.poll(() => sockets.length, { timeout: 10_000 }).toBeGreaterThan(socketsBefore);
    // Eve's first token has expired too, by the same clock: the router refuses it.
    await expect(
      call('send', { input: { conversationId, body: 'too late', clientMutationId: 'too-late' } }),
    ).rejects.toThrow(/TOKEN_EXPIRED/);
    // Eve's token is as short-lived: her client refreshes too.
    const { refreshSession } = await call('refresh', { token: eve.refreshToken }, '');
    eve = { ...eve, ...refreshSession };
    await call('send', { input: { conversationId, body: 'after expiry', clientMutationId: 'after-expiry' } });
    await dee.getByTestId('message-body').filter({ hasText: 'after expiry' }).waitFor({ timeout: 20_000 });
    expect(sockets.length).toBeGreaterThanOrEqual(2);
    expect((await bodies(dee)).slice(-2)).toEqual(['still here', 'after expiry']);
    expect(dee.url()).toMatch(/\/c\//);
  });

  it('is usable from the keyboard alone, with a visible focus, and passes the audit on every screen', async () => {
    await dee.goto('/');
    await dee
      .getByTestId('conversation-item')
      .or(dee.getByRole('heading', { name: 'Sign in to Parley' }))
      .first()
      .waitFor();
    expect(dee.url(), 'still signed in after a reload').not.toMatch(/login/);
    expect(await accessibilityViolations(dee)).toEqual([]);

    /** Whether the focused element shows it: its own outline or shadow, or its label's (a styled file input). */
    const focusShown = () =>
      dee.evaluate(() => {
        const focused = document.activeElement!;
        const shown = (element: Element) => {
          const style = getComputedStyle(element);
          return (
            (style.outlineStyle !== 'none' && style.outlineWidth !== '0px') || style.boxShadow !== 'none'
          );
        };
        return shown(focused) || (focused.closest('label') !== null && shown(focused.closest('label')!));
      });
    const focusedIs = async (matches: (element: Element) => boolean) =>
      (await dee.evaluateHandle(() => document.activeElement!)).evaluate(matches);
    /** Presses `key` until the focused element `matches`; every stop on the way must show its focus. */
    const pressUntil = async (key: string, what: string, matches: (element: Element) => boolean) => {
      for (let presses = 0; presses < 40; presses += 1) {
        await dee.keyboard.press(key);
        const html = await dee.evaluate(() => document.activeElement!.outerHTML.slice(0, 100));
        expect(await focusShown(), `focus indicator on ${html}`).toBe(true);
        if (await focusedIs(matches)) return;
      }
      throw new Error(`${key} never reached ${what}`);
    };

    await pressUntil(
      'Tab',
      'the conversation',
      (element) => element.getAttribute('data-testid') === 'conversation-item',
    );
    await dee.keyboard.press('Enter');
    await dee.waitForURL(/\/c\//);
    await dee.getByTestId('message-body').filter({ hasText: 'after expiry' }).waitFor();
    // Opening a conversation puts the cursor in its message box.
    await expect
      .poll(() => focusedIs((element) => element.getAttribute('aria-label') === 'Message'))
      .toBe(true);
    expect(await accessibilityViolations(dee)).toEqual([]);
    await dee.keyboard.type('typed without a mouse');
    await dee.keyboard.press('Enter');
    await confirmedMessage(dee, 'typed without a mouse').waitFor();

    // Back into the history: the newest message's actions appear as they take the focus; reply to it.
    await pressUntil('Shift+Tab', "the newest message's Reply", (element) => element.textContent === 'Reply');
    expect(
      await dee
        .getByTestId('message')
        .filter({ has: dee.locator(':focus') })
        .getByTestId('message-body')
        .textContent(),
    ).toBe('typed without a mouse');
    await dee.keyboard.press('Enter');
    await dee.getByText('Replying to').waitFor();
    expect(await focusedIs((element) => element.getAttribute('aria-label') === 'Message')).toBe(true);
    await dee.keyboard.type('a reply by keyboard');
    await dee.keyboard.press('Enter');
    await confirmedMessage(dee, 'a reply by keyboard').waitFor();

    await dee.getByRole('link', { name: 'Profile and settings' }).click();
    await dee.getByRole('region', { name: 'Sessions' }).waitFor();
    expect(await accessibilityViolations(dee)).toEqual([]);

    // And on a phone-sized screen: the list, then the conversation.
    await dee.setViewportSize({ width: 390, height: 844 });
    await dee.goto('/');
    await dee.getByTestId('conversation-item').first().waitFor();
    expect(await accessibilityViolations(dee)).toEqual([]);
    await dee.getByTestId('conversation-item').first().click();
    await dee.getByTestId('message-body').filter({ hasText: 'a reply by keyboard' }).waitFor();
    expect(await accessibilityViolations(dee)).toEqual([]);
  });
});
