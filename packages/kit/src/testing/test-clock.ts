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
