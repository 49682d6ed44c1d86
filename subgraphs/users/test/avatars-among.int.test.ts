import { codeOf, forgedServiceAuthorizations } from '@parley/kit/testing';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUsersTestServer, type UsersTestServer } from './users-test-server.js';

let server: UsersTestServer;
beforeAll(async () => {
  server = await startUsersTestServer();
});
afterAll(() => server?.stop());

const AVATARS = `query($ids: [ID!]!) { avatarsAmong(fileIds: $ids) { userId fileId } }`;
const PROFILE = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { id } }`;

describe('avatarsAmong (service-only)', () => {
  it('names the users whose avatar is one of the files asked', async () => {
    const [ann, ben] = await Promise.all([server.register('av_ann'), server.register('av_ben')]);
    const [annAvatar, benAvatar, none] = [randomUUID(), randomUUID(), randomUUID()];
    for (const [user, avatarFileId] of [
      [ann, annAvatar],
      [ben, benAvatar],
    ] as const) {
      expect((await user.api.request(PROFILE, { input: { avatarFileId } })).errors).toBeUndefined();
    }
    const response = await (
      await server.serviceClient()
    ).request<{ avatarsAmong: { userId: string; fileId: string }[] }>(AVATARS, {
      ids: [annAvatar.toUpperCase(), none, 'not-a-uuid'],
    });
    expect(response.errors).toBeUndefined();
    expect(response.data!.avatarsAmong).toEqual([{ userId: ann.user.id, fileId: annAvatar }]);
  });

  it('is FORBIDDEN to users and forged service tokens, and refuses more than 1000 ids', async () => {
    const user = await server.register('av_user');
    for (const caller of [
      user.api,
      server.client(),
      ...(await forgedServiceAuthorizations(user.accessToken)).map((authorization) =>
        server.client(undefined, { authorization }),
      ),
    ]) {
      expect(codeOf(await caller.request(AVATARS, { ids: [randomUUID()] }))).toBe('FORBIDDEN');
    }
    const tooMany = await (
      await server.serviceClient()
    ).request(AVATARS, { ids: Array.from({ length: 1001 }, () => randomUUID()) });
    expect(codeOf(tooMany)).toBe('BAD_USER_INPUT');
  });
});
