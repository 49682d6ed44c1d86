/**
 * Where a service reads the time: the system's in production; a test gives one of its own (createTestClock
 * in @parley/kit/testing) to make time pass at once instead of waiting for it.
 */
export interface Clock {
  now(): Date;
}

/** The system's time. */
export const systemClock: Clock = { now: () => new Date() };
