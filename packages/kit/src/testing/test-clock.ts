import type { Clock } from '../clock.js';

/** A clock that stands still until told to move: `advance(ms)` makes that much time pass at once. */
export interface TestClock extends Clock {
  advance(ms: number): void;
}

/** A test clock showing `start` (the system's time by default) until advanced. */
export function createTestClock(start: Date = new Date()): TestClock {
  let time = start.getTime();
  return {
    now: () => new Date(time),
    advance(ms) {
      time += ms;
    },
  };
}

/**
 * A test clock that runs with the system's, `advance(ms)` putting it that much further ahead at once. This is
 * how a browser page's time behaves under Playwright's `clock.install()` and `clock.fastForward(ms)`: a server
 * on this clock and a page installed at its time, advanced together, agree on the time all along, while
 * everything else (timeouts, polling, the page's own timers) keeps running as usual.
 */
export function createRunningTestClock(): TestClock {
  let ahead = 0;
  return {
    now: () => new Date(Date.now() + ahead),
    advance(ms) {
      ahead += ms;
    },
  };
}
