import { randomBytes, randomUUID } from 'node:crypto';
import { createServiceAuth } from '@parley/kit';
import { createGraphQLClient, startParley, type Parley, type SignedInUser } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDm, createGroup, ok } from '../conversations/operations.js';
import { uploadFile } from '../files/operations.js';
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

const FILES_IN_USE = `query ($ids: [ID!]!) { filesInUse(fileIds: $ids) }`;

/** An opaque file of the user's own, uploaded and completed. */
const newFile = async (owner: SignedInUser) =>
  (await uploadFile(owner, randomBytes(32), { contentType: 'application/octet-stream' })).id;

describe('viewerVisibleFileIds and filesInUse (internal)', () => {
  it('answers the files sent in the viewer’s conversations, in the order asked, and none of a deleted message', async () => {
    const [ann, bob, cy] = await parley.registerUsers('ann', 'bob', 'cy');
    const dm = await createDm(ann, bob);
    const group = await createGroup(ann, [cy], 'Without bob');
    const [inDm, inGroup, deletedOne] = [await newFile(ann), await newFile(ann), await newFile(ann)];
    const nowhere = randomUUID();
    await send(ann, dm.id, 'photo', { attachmentIds: [inDm] });
    await send(ann, group.id, 'photo', { attachmentIds: [inGroup] });
    const gone = await send(ann, dm.id, 'oops', { attachmentIds: [deletedOne] });
    await ok(ann, DELETE, { id: gone.id });

    const asked = [nowhere, inGroup, 'not-a-uuid', inDm.toUpperCase(), deletedOne, inDm];
    expect((await visibleFiles(bob, asked)).data).toEqual({ viewerVisibleFileIds: [inDm] });
    expect((await visibleFiles(cy, asked)).data).toEqual({ viewerVisibleFileIds: [inGroup] });
    expect((await visibleFiles(ann, asked)).data).toEqual({ viewerVisibleFileIds: [inGroup, inDm] });

    // Only services ask which files are still attached anywhere; users are FORBIDDEN.
    const asService = createGraphQLClient({
      url: parley.subgraphUrls.messages,
      headers: {
        authorization: await createServiceAuth({
          secret: parley.serviceTokenSecret,
          service: 'files',
        }).authorization(),
      },
    });
    expect((await asService.request(FILES_IN_USE, { ids: asked })).data).toEqual({
      filesInUse: [inGroup, inDm],
    });
    const asUser = createGraphQLClient({ url: parley.subgraphUrls.messages, token: ann.accessToken });
    expect(codesOf((await asUser.request(FILES_IN_USE, { ids: [inDm] })).errors ?? [])).toEqual([
      'FORBIDDEN',
    ]);
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
