import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startParley, type Parley, type StartParleyOptions, type TestClock } from '@parley/testkit';
import axe from 'axe-core';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Page,
} from 'playwright-core';

/** Debian's Chromium: Playwright cannot download its own browser here. */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Headless Chromium with the flags this machine needs (no network beyond loopback, running as root). */
export const launchChromium = () => chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });

/** Screenshots of the main screens land here; CI keeps `artifacts/`. */
export const SCREENSHOTS = path.join(import.meta.dirname, '../../artifacts/web');

export interface WebStack {
  parley: Parley;
  browser: Browser;
  /** A new browser context (its own storage: a separate person) with one page on the app. */
  openPage(options?: BrowserContextOptions): Promise<Page>;
  /**
   * With a `clock` given: moves it and every page's clock on by `ms` at once, so the services and the app
   * agree that this much time passed (the pages' due timers fire once, as after a laptop's sleep).
   */
  advanceClock(ms: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The platform (real PostgreSQL and Redis) with its router in persisted-only mode, the production build of
 * the web app in front of it (`web/.next`, built by `npm test`), and a headless Chromium.
 *
 * With a `clock` (one that runs with the system's: createRunningTestClock), the services read the time from
 * it and every page gets Playwright's clock, installed at its time: both then run on together as real time
 * passes, and `advanceClock` moves both ahead at once.
 */
export async function startWebStack(
  label: string,
  {
    routerEnv,
    clock,
    ...options
  }: Pick<StartParleyOptions, 'usersEnv' | 'presenceEnv' | 'routerEnv'> & { clock?: TestClock } = {},
): Promise<WebStack> {
  const parley = await startParley({
    label,
    web: true,
    routerEnv: { PERSISTED_ONLY: 'true', ...routerEnv },
    clock,
    ...options,
  });
  const contexts: BrowserContext[] = [];
  const baseURL = parley.webUrl;
  const browser = await launchChromium();
  await mkdir(SCREENSHOTS, { recursive: true });
  return {
    parley,
    browser,
    async openPage(options = {}) {
      const context = await browser.newContext({ baseURL, ...options });
      // Before the page exists, so the app never sees the system's time.
      if (clock) await context.clock.install({ time: clock.now() });
      contexts.push(context);
      context.on('close', () => contexts.splice(contexts.indexOf(context), 1));
      const page = await context.newPage();
      page.on('pageerror', (error) => console.error(`[browser] ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') console.error(`[browser console] ${message.text()}`);
      });
      return page;
    },
    async advanceClock(ms) {
      if (!clock) throw new Error('advanceClock needs a stack started with a clock');
      clock.advance(ms);
      for (const context of contexts) await context.clock.fastForward(ms);
    },
    async stop() {
      await browser.close();
      await parley.stop();
    },
  };
}

/** Signs a new person up through the register page; returns their (unique) username. */
export async function register(page: Page, name: string) {
  const username = `${name.toLowerCase()}_${Math.random().toString(36).slice(2, 8)}`;
  await page.goto('/register');
  await page.getByLabel('Email').fill(`${username}@example.test`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Display name').fill(name);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('complementary', { name: 'Conversations' }).waitFor();
  return username;
}

/** What axe-core finds on the page as it is now: WCAG 2.1 A and AA rules, one line per failing element. */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axe.source });
  const results = await page.evaluate(() =>
    (window as unknown as { axe: typeof axe }).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    }),
  );
  return results.violations.flatMap((violation) =>
    violation.nodes.map((node) => `${violation.id} (${violation.impact}): ${node.target.join(' ')}`),
  );
}

/** Messages the graph confirmed (numbered), not only shown optimistically; those containing `text` if given. */
export const confirmedMessage = (page: Page, text?: string) =>
  page.locator('[data-testid="message"][data-seq]').filter(text === undefined ? {} : { hasText: text });

/** The session the app keeps in the page's storage (shared by the tabs of its browser context). */
export const storedSession = (page: Page) =>
  page.evaluate(
    () =>
      JSON.parse(localStorage.getItem('parley.session') ?? 'null') as {
        accessToken: string;
        accessTokenExpiresAt: string;
        refreshToken: string;
        user: { id: string };
      } | null,
  );
