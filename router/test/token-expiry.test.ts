import { systemClock } from '@parley/kit';
import { createTestClock } from '@parley/kit/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { watchTokenExpiry } from '../src/realtime/token-expiry.js';

const RECHECK_MS = 1_000;

describe('watchTokenExpiry', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('with the system clock, ends the socket at the expiry and not before', () => {
    const onExpired = vi.fn();
    watchTokenExpiry({
      expiresAt: new Date(Date.now() + 40_000),
      clock: systemClock,
      recheckMs: 60_000,
      onExpired,
    });
    vi.advanceTimersByTime(39_999);
    expect(onExpired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(onExpired).toHaveBeenCalledOnce();
    vi.advanceTimersByTime(120_000);
    expect(onExpired).toHaveBeenCalledOnce();
  });

  it('notices within recheckMs that a test clock was advanced past the expiry', () => {
    const clock = createTestClock();
    const onExpired = vi.fn();
    watchTokenExpiry({
      expiresAt: new Date(clock.now().getTime() + 40_000),
      clock,
      recheckMs: RECHECK_MS,
      onExpired,
    });
    // Ten seconds of timers, the clock standing still: the token is still good by it.
    vi.advanceTimersByTime(10_000);
    expect(onExpired).not.toHaveBeenCalled();
    clock.advance(39_999);
    vi.advanceTimersByTime(RECHECK_MS);
    expect(onExpired).not.toHaveBeenCalled();
    clock.advance(2);
    vi.advanceTimersByTime(RECHECK_MS);
    expect(onExpired).toHaveBeenCalledOnce();
  });

  it('does not end the socket when its timer fires before the clock reaches the expiry', () => {
    const clock = createTestClock();
    const onExpired = vi.fn();
    watchTokenExpiry({
      expiresAt: new Date(clock.now().getTime() + 5_000),
      clock,
      recheckMs: 60_000,
      onExpired,
    });
    // The timer armed for the 5 s left fires, but the clock has not moved: it arms again.
    vi.advanceTimersByTime(30_000);
    expect(onExpired).not.toHaveBeenCalled();
    clock.advance(5_000);
    vi.advanceTimersByTime(5_000);
    expect(onExpired).toHaveBeenCalledOnce();
  });

  it('ends a socket whose token expired already at once, and nothing once stopped', () => {
    const expired = vi.fn();
    watchTokenExpiry({
      expiresAt: new Date(Date.now() - 1_000),
      clock: systemClock,
      recheckMs: RECHECK_MS,
      onExpired: expired,
    });
    vi.advanceTimersByTime(0);
    expect(expired).toHaveBeenCalledOnce();

    const stopped = vi.fn();
    const stop = watchTokenExpiry({
      expiresAt: new Date(Date.now() + 1_000),
      clock: systemClock,
      recheckMs: RECHECK_MS,
      onExpired: stopped,
    });
    stop();
    vi.advanceTimersByTime(10_000);
    expect(stopped).not.toHaveBeenCalled();
  });
});
