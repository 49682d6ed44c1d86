import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { messageEvents } from '../events.js';
import type { MessageStore, NewMessage, RecordedEvent } from '../data/message-store.js';

/**
 * What every MessageStore must do, whatever the database: run it against each implementation with a
 * store on a database of its own (`setup` runs once, before the tests). It speaks only the MessageStore
 * interface.
 */
export function describeMessageStoreContract(name: string, setup: () => Promise<MessageStore>) {
  describe(`MessageStore contract: ${name}`, () => {
    let store: MessageStore;
    beforeAll(async () => {
      store = await setup();
    });

    const message = (overrides: Partial<NewMessage> & { conversationId: string }): NewMessage => {
      const clientMutationId = overrides.clientMutationId ?? randomUUID();
      return {
        senderId: randomUUID(),
        clientMutationId,
        requestHash: `hash-of-${clientMutationId}`,
        body: 'hello',
        replyTo: null,
        attachmentIds: [],
        mentionedUserIds: [],
        ...overrides,
      };
    };

    async function sent(input: NewMessage) {
      const result = await store.send(input);
      expect(result.outcome).toBe('created');
      return result.message;
    }

    /** Every event recorded so far for these conversations (delivering them, so later calls see only new ones). */
    async function drainEvents(conversationIds: string[]) {
      const events: RecordedEvent[] = [];
      while (
        (await store.deliverEvents(100, async (batch) => {
          events.push(...batch);
        })) > 0
      );
      return events.filter((event) => conversationIds.includes(event.payload.conversationId));
    }

    it('gives 20 concurrent senders of 50 messages each the seqs 1..1000 exactly, in their own order', async () => {
      const conversationId = randomUUID();
      const senders = Array.from({ length: 20 }, () => randomUUID());
      const seqsBySender = await Promise.all(
        senders.map(async (senderId) => {
          const seqs: number[] = [];
          for (let index = 0; index < 50; index += 1) {
            const { seq } = await sent(message({ conversationId, senderId, body: `${senderId} ${index}` }));
            seqs.push(seq);
          }
          return seqs;
        }),
      );
      const all = seqsBySender.flat().sort((a, b) => a - b);
      expect(all).toEqual(Array.from({ length: 1000 }, (_, index) => index + 1));
      // Each sender's messages got increasing seqs: a later send never overtakes an earlier one.
      for (const seqs of seqsBySender) expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

      // Paging backwards then forwards returns each message exactly once, in order.
      const backwards: number[] = [];
      let before: number | null = null;
      for (;;) {
        const rows = await store.page(conversationId, {
          direction: 'backward',
          limit: 64,
          after: null,
          before,
        });
        backwards.unshift(
          ...rows
            .slice(0, 64)
            .map((row) => row.seq)
            .reverse(),
        );
        if (rows.length <= 64) break;
        before = rows[63]!.seq;
      }
      expect(backwards).toEqual(all);
      const forwards: number[] = [];
      let after: number | null = null;
      for (;;) {
        const rows = await store.page(conversationId, {
          direction: 'forward',
          limit: 64,
          after,
          before: null,
        });
        forwards.push(...rows.slice(0, 64).map((row) => row.seq));
        if (rows.length <= 64) break;
        after = rows[63]!.seq;
      }
      expect(forwards).toEqual(all);
      expect((await drainEvents([conversationId])).length).toBe(1000);
    }, 60_000);

    it('numbers each conversation on its own', async () => {
      const [a, b] = [randomUUID(), randomUUID()];
      expect((await sent(message({ conversationId: a }))).seq).toBe(1);
      expect((await sent(message({ conversationId: b }))).seq).toBe(1);
      expect((await sent(message({ conversationId: a }))).seq).toBe(2);
    });

    it('answers a repeated clientMutationId with the first message, also when sent concurrently', async () => {
      const conversationId = randomUUID();
      const first = message({ conversationId });
      expect(await store.previousSend(first)).toBeNull();
      const created = await sent(first);
      expect(await store.previousSend(first)).toEqual({ outcome: 'replayed', message: created });
      expect(await store.previousSend({ ...first, requestHash: 'other' })).toEqual({
        outcome: 'conflict',
        message: created,
      });
      const again = await store.send(first);
      expect(again).toEqual({ outcome: 'replayed', message: created });

      const concurrent = message({ conversationId });
      const results = await Promise.all(Array.from({ length: 8 }, () => store.send(concurrent)));
      expect(results.filter((result) => result.outcome === 'created')).toHaveLength(1);
      expect(new Set(results.map((result) => result.message.id)).size).toBe(1);
      expect(results.every((result) => result.outcome !== 'conflict')).toBe(true);

      // The same key for a different request is a conflict; nothing was stored for it.
      const reused = await store.send({ ...first, body: 'something else', requestHash: 'other' });
      expect(reused.outcome).toBe('conflict');
      expect(reused.message.id).toBe(created.id);
      // The refused and replayed calls consumed no seq.
      expect((await sent(message({ conversationId }))).seq).toBe(3);
      // Keys are per sender: another sender may use the same one.
      expect((await sent({ ...first, senderId: randomUUID() })).seq).toBe(4);
      const events = await drainEvents([conversationId]);
      expect(events.map((event) => event.topic)).toEqual(Array(4).fill(messageEvents.added.name));
    });

    it('pages within bounds in both directions and returns one extra row only when more exist', async () => {
      const conversationId = randomUUID();
      for (let index = 0; index < 5; index += 1) await sent(message({ conversationId }));
      const seqs = async (range: Parameters<MessageStore['page']>[1]) =>
        (await store.page(conversationId, range)).map((row) => row.seq);
      expect(await seqs({ direction: 'forward', limit: 2, after: null, before: null })).toEqual([1, 2, 3]);
      expect(await seqs({ direction: 'forward', limit: 2, after: 3, before: null })).toEqual([4, 5]);
      expect(await seqs({ direction: 'backward', limit: 2, after: null, before: null })).toEqual([5, 4, 3]);
      expect(await seqs({ direction: 'backward', limit: 2, after: null, before: 3 })).toEqual([2, 1]);
      expect(await seqs({ direction: 'forward', limit: 10, after: 1, before: 4 })).toEqual([2, 3]);
      expect(await seqs({ direction: 'forward', limit: 10, after: null, before: null })).toHaveLength(5);
      expect(
        await store.page(randomUUID(), { direction: 'forward', limit: 10, after: null, before: null }),
      ).toEqual([]);
    });

    it('threads replies under the first message, counting and listing them', async () => {
      const conversationId = randomUUID();
      const root = await sent(message({ conversationId, body: 'root' }));
      const reply = await sent(message({ conversationId, replyTo: { id: root.id, threadRootId: null } }));
      const nested = await sent(
        message({ conversationId, replyTo: { id: reply.id, threadRootId: root.id } }),
      );
      expect(reply.threadRootId).toBe(root.id);
      expect(nested).toMatchObject({ replyToId: reply.id, threadRootId: root.id });
      const [reloaded] = await store.byIds([root.id]);
      expect(reloaded).toMatchObject({ replyCount: 2, lastReplyAt: nested.createdAt });
      const latest = await store.latestReplies([root.id, reply.id], 1);
      expect(latest.get(root.id)?.map((row) => row.id)).toEqual([nested.id]);
      expect(latest.get(reply.id)).toEqual([]);
      const thread = await store.threadPage(root.id, {
        direction: 'forward',
        limit: 10,
        after: null,
        before: null,
      });
      expect(thread.map((row) => row.id)).toEqual([reply.id, nested.id]);
    });

    it('edits the body and mentions of a live message, keeping when; refuses a deleted one', async () => {
      const conversationId = randomUUID();
      const [ann, bob] = [randomUUID(), randomUUID()];
      const original = await sent(message({ conversationId, mentionedUserIds: [ann] }));
      expect(original.editedAt).toBeNull();
      const edited = await store.edit(original.id, { body: 'fixed', mentionedUserIds: [bob] });
      expect(edited).toMatchObject({ body: 'fixed', seq: original.seq, mentionedUserIds: [bob] });
      expect(edited?.editedAt).toBeInstanceOf(Date);
      expect((await store.edit(original.id, { body: 'again' }))?.mentionedUserIds).toEqual([bob]);
      await store.delete(original.id, ann);
      expect(await store.edit(original.id, { body: 'too late' })).toBeNull();
      expect(await store.edit(randomUUID(), { body: 'nobody' })).toBeNull();
      const events = await drainEvents([conversationId]);
      expect(events.map((event) => event.topic)).toEqual([
        messageEvents.added.name,
        messageEvents.edited.name,
        messageEvents.edited.name,
        messageEvents.deleted.name,
      ]);
    });

    it('turns a deleted message into a tombstone that keeps its seq and loses everything else', async () => {
      const conversationId = randomUUID();
      const fileId = randomUUID();
      const original = await sent(
        message({
          conversationId,
          body: 'secret',
          attachmentIds: [fileId],
          mentionedUserIds: [randomUUID()],
        }),
      );
      await store.addReaction({ messageId: original.id, userId: randomUUID(), emoji: '👍' }, limits);
      const byUserId = randomUUID();
      const result = await store.delete(original.id, byUserId);
      expect(result?.deleted).toBe(true);
      expect(result?.message).toMatchObject({
        seq: original.seq,
        body: null,
        attachmentIds: [],
        mentionedUserIds: [],
      });
      expect(result?.message.deletedAt).toBeInstanceOf(Date);
      expect((await store.reactionGroups([original.id], byUserId)).get(original.id)).toEqual([]);
      expect(await store.delete(original.id, byUserId)).toMatchObject({ deleted: false });
      expect(await store.delete(randomUUID(), byUserId)).toBeNull();
      const deleted = (await drainEvents([conversationId])).find(
        (event) => event.topic === messageEvents.deleted.name,
      );
      expect(deleted?.payload).toEqual({
        conversationId,
        messageId: original.id,
        seq: original.seq,
        byUserId,
        attachmentIds: [fileId],
      });
    });

    it('records messages.added with the files the message carries, in the order sent', async () => {
      const conversationId = randomUUID();
      const [first, second] = [randomUUID(), randomUUID()];
      const mentioned = randomUUID();
      const carrying = await sent(
        message({ conversationId, attachmentIds: [second, first], mentionedUserIds: [mentioned] }),
      );
      const plain = await sent(message({ conversationId }));
      const added = (await drainEvents([conversationId])).filter(
        (event) => event.topic === messageEvents.added.name,
      );
      expect(added.map((event) => event.payload)).toEqual([
        {
          conversationId,
          messageId: carrying.id,
          seq: carrying.seq,
          senderId: carrying.senderId,
          mentionedUserIds: [mentioned],
          threadRootId: null,
          attachmentIds: [second, first],
        },
        {
          conversationId,
          messageId: plain.id,
          seq: plain.seq,
          senderId: plain.senderId,
          mentionedUserIds: [],
          threadRootId: null,
          attachmentIds: [],
        },
      ]);
    });

    const limits = { maxEmoji: 3, maxPerUser: 2 };

    it('groups reactions per emoji with the viewer part, within the limits', async () => {
      const { id: messageId, conversationId } = await sent(message({ conversationId: randomUUID() }));
      const [ann, bob, cy] = [randomUUID(), randomUUID(), randomUUID()];
      const react = (userId: string, emoji: string) =>
        store.addReaction({ messageId, userId, emoji }, limits);
      expect(await react(ann, '👍')).toBe('added');
      expect(await react(ann, '👍')).toBe('present');
      expect(await react(bob, '👍')).toBe('added');
      expect(await react(bob, '🎉')).toBe('added');
      expect(await react(bob, '❤️')).toBe('limit'); // bob's third
      expect(await react(cy, '❤️')).toBe('added');
      expect(await react(cy, '😂')).toBe('limit'); // a fourth emoji
      expect((await store.reactionGroups([messageId], bob)).get(messageId)).toEqual([
        { emoji: '👍', count: 2, viewerReacted: true },
        { emoji: '🎉', count: 1, viewerReacted: true },
        { emoji: '❤️', count: 1, viewerReacted: false },
      ]);
      expect(await store.removeReaction({ messageId, userId: bob, emoji: '🎉' })).toBe('removed');
      expect(await store.removeReaction({ messageId, userId: bob, emoji: '🎉' })).toBe('absent');
      expect(await react(cy, '😂')).toBe('added'); // room again
      const events = await drainEvents([conversationId]);
      expect(events.filter((event) => event.topic === messageEvents.reactionChanged.name)).toHaveLength(6);
      await store.delete(messageId, ann);
      expect(await react(ann, '🎉')).toBe('gone');
      expect(await store.removeReaction({ messageId, userId: ann, emoji: '👍' })).toBe('gone');
    });

    it('keeps the limits under concurrent reactions', async () => {
      const { id: messageId } = await sent(message({ conversationId: randomUUID() }));
      const emoji = ['😀', '😃', '😄', '😁', '😆', '😅'];
      const outcomes = await Promise.all(
        emoji.map((value) => store.addReaction({ messageId, userId: randomUUID(), emoji: value }, limits)),
      );
      expect(outcomes.filter((outcome) => outcome === 'added')).toHaveLength(3);
      expect((await store.reactionGroups([messageId], randomUUID())).get(messageId)).toHaveLength(3);
    });

    it('searches only the conversations given, best match first, never deleted messages', async () => {
      const [mine, other] = [randomUUID(), randomUUID()];
      const word = `zebra${randomUUID().slice(0, 8)}`;
      const once = await sent(message({ conversationId: mine, body: `a ${word} crossed the road` }));
      const twice = await sent(message({ conversationId: mine, body: `${word} and ${word} again` }));
      await sent(message({ conversationId: other, body: `${word} elsewhere` }));
      const gone = await sent(message({ conversationId: mine, body: `deleted ${word}` }));
      await store.delete(gone.id, gone.senderId);

      const hits = await store.search(word, [mine], 0, 10);
      expect(hits.map((hit) => hit.message.id)).toEqual([twice.id, once.id]);
      expect(hits[0]!.rank).toBeGreaterThan(hits[1]!.rank);
      expect((await store.search(word, [mine], 1, 10)).map((hit) => hit.message.id)).toEqual([once.id]);
      expect(await store.search(word, [], 0, 10)).toEqual([]);
      expect((await store.search(`"${word} crossed"`, [mine], 0, 10)).map((hit) => hit.message.id)).toEqual([
        once.id,
      ]);
      expect((await store.search(`${word} -again`, [mine], 0, 10)).map((hit) => hit.message.id)).toEqual([
        once.id,
      ]);
      for (const odd of [
        '"unterminated',
        'a & b | !c',
        ':*',
        '(((',
        '-',
        'or',
        "'",
        '\\',
        '🦓',
        "'; DROP TABLE messages; --",
        '<->',
        '!!',
      ]) {
        await expect(store.search(odd, [mine], 0, 10)).resolves.toBeInstanceOf(Array);
      }
    });

    it('keeps undelivered events when delivery fails, and delivers one batch at a time, in order', async () => {
      const conversationId = randomUUID();
      await drainEvents([]);
      await sent(message({ conversationId }));
      await expect(
        store.deliverEvents(100, async () => {
          throw new Error('broker down');
        }),
      ).rejects.toThrow('broker down');
      for (let index = 0; index < 9; index += 1) await sent(message({ conversationId }));
      const seen: number[] = [];
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const first = store.deliverEvents(5, async (batch) => {
        seen.push(...batch.map((event) => (event.payload as { seq: number }).seq));
        await held;
      });
      await expect.poll(() => seen.length).toBe(5);
      // A second deliverer (another replica's relay) waits for the first instead of delivering the next
      // five beside it, which could reach the log first.
      let secondDone = false;
      const second = store
        .deliverEvents(5, async (batch) => {
          seen.push(...batch.map((event) => (event.payload as { seq: number }).seq));
        })
        .then(() => (secondDone = true));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(secondDone).toBe(false);
      expect(seen).toEqual([1, 2, 3, 4, 5]);
      release();
      await Promise.all([first, second]);
      expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(await drainEvents([conversationId])).toEqual([]);
    });
  });
}
