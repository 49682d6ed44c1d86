import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRunningTestClock, createTestClock } from './test-clock.js';

describe('test clocks', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('createTestClock stands still until advanced', () => {
    vi.useFakeTimers();
    const clock = createTestClock(new Date('2030-01-01T00:00:00Z'));
    vi.advanceTimersByTime(5_000);
    expect(clock.now()).toEqual(new Date('2030-01-01T00:00:00Z'));
    clock.advance(1_500);
    expect(clock.now()).toEqual(new Date('2030-01-01T00:00:01.500Z'));
  });

  it('createRunningTestClock runs with the system time, plus what it was advanced by', () => {
    vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
    const clock = createRunningTestClock();
    expect(clock.now()).toEqual(new Date('2030-01-01T00:00:00Z'));
    vi.advanceTimersByTime(5_000);
    expect(clock.now()).toEqual(new Date('2030-01-01T00:00:05Z'));
    clock.advance(60_000);
    vi.advanceTimersByTime(1_000);
    expect(clock.now()).toEqual(new Date('2030-01-01T00:01:06Z'));
  });
});
