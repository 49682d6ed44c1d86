import { startWithResources } from '@parley/kit';
import { describe, expect, it } from 'vitest';
import { openMembershipProjection } from './shared.js';

const holding = () =>
  startWithResources(async (resources) => ({
    open: (prefix: string) => openMembershipProjection(resources, { redis: null, prefix }),
  }));

describe('openMembershipProjection without Redis', () => {
  it('gives the services of a process one projection per prefix, which lives until the last of them stops', async () => {
    const conversations = await holding();
    const messages = await holding();
    const written = conversations.open('shared-test:');
    expect(messages.open('shared-test:')).toBe(written);
    expect(messages.open('other-test:')).not.toBe(written);

    await written.replace('c1', 1, { kind: 'GROUP', members: new Map([['ann', 'OWNER']]) });
    await conversations.stop();
    // The reader still holds it: what the writer wrote is still there.
    expect(await messages.open('shared-test:').membershipsOf('ann', ['c1'])).toEqual([
      { role: 'OWNER', kind: 'GROUP' },
    ]);
    await messages.stop();

    const later = await holding();
    expect(later.open('shared-test:')).not.toBe(written);
    await later.stop();
  });
});
