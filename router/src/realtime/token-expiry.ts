import type { Clock } from '@parley/kit';

/**
 * Calls `onExpired` once, as soon as `clock` says `expiresAt` has come; returns a function that stops
 * watching. A timer is armed for the time left, but never for longer than `recheckMs`: each time it fires
 * the clock is read again. With the system's clock it simply fires at the expiry. A clock that jumps ahead
 * (a test's clock being advanced, a machine waking from sleep: timers run on time elapsed, not on the wall
 * clock) is noticed within `recheckMs`; one that has not reached the expiry yet when the timer fires (a
 * test's clock standing still) gets a new timer instead of an early end.
 */
export function watchTokenExpiry(options: {
  expiresAt: Date;
  clock: Clock;
  recheckMs: number;
  onExpired: () => void;
}): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const left = options.expiresAt.getTime() - options.clock.now().getTime();
    timer = setTimeout(
      () => {
        timer = undefined;
        if (options.clock.now().getTime() >= options.expiresAt.getTime()) options.onExpired();
        else arm();
      },
      Math.max(0, Math.min(left, options.recheckMs)),
    );
  };
  arm();
  return () => clearTimeout(timer);
}
