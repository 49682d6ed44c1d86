import { randomUUID } from 'node:crypto';
import { createGraphQLClient, startParley, type Parley, type SignedInUser } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDm, createGroup, ok } from '../conversations/operations.js';
import { codesOf } from '../realtime/operations.js';
import { DELETE, send } from './operations.js';

let parley: Parley;
beforeAll(async () => {
  parley = await startParley({ label: 'file_visibility' });
});
afterAll(async () => {
  await parley?.stop();
});

/** The messages subgraph's internal field, asked directly with the viewer's token (as the files subgraph does). */
async function visibleFiles(viewer: SignedInUser, fileIds: string[]) {
  const direct = createGraphQLClient({ url: parley.subgraphUrls.messages, token: viewer.accessToken });
  return direct.request<{ viewerVisibleFileIds: string[] }>(
    `query ($ids: [ID!]!) { viewerVisibleFileIds(fileIds: $ids) }`,
    { ids: fileIds },
  );
}

describe('viewerVisibleFileIds (internal)', () => {
  it('answers the files sent in the viewer’s conversations, in the order asked, and none of a deleted message', async () => {
    const [ann, bob, cy] = await parley.registerUsers('ann', 'bob', 'cy');
    const dm = await createDm(ann, bob);
    const group = await createGroup(ann, [cy], 'Without bob');
    const [inDm, inGroup, deletedOne, nowhere] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await send(ann, dm.id, 'photo', { attachmentIds: [inDm] });
    await send(ann, group.id, 'photo', { attachmentIds: [inGroup] });
    const gone = await send(ann, dm.id, 'oops', { attachmentIds: [deletedOne] });
    await ok(ann, DELETE, { id: gone.id });

    const asked = [nowhere, inGroup, 'not-a-uuid', inDm.toUpperCase(), deletedOne, inDm];
    expect((await visibleFiles(bob, asked)).data).toEqual({ viewerVisibleFileIds: [inDm] });
    expect((await visibleFiles(cy, asked)).data).toEqual({ viewerVisibleFileIds: [inGroup] });
    expect((await visibleFiles(ann, asked)).data).toEqual({ viewerVisibleFileIds: [inGroup, inDm] });
  });

  it('needs a viewer and refuses more than 1000 ids', async () => {
    const [ann] = await parley.registerUsers('ann');
    const anonymous = await createGraphQLClient({ url: parley.subgraphUrls.messages }).request(
      `query { viewerVisibleFileIds(fileIds: []) }`,
    );
    expect(codesOf(anonymous.errors ?? [])).toEqual(['UNAUTHENTICATED']);
    const tooMany = await visibleFiles(
      ann!,
      Array.from({ length: 1001 }, () => randomUUID()),
    );
    expect(codesOf(tooMany.errors ?? [])).toEqual(['BAD_USER_INPUT']);
  });
});
