import { createGraphQLClient, startParley, within, type Parley, type SignedInUser } from '@parley/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok } from '../conversations/operations.js';
import { LOGOUT, subscribeEvents, useRealtime } from './operations.js';

let parley: Parley;
/** Access tokens valid for 2 s. */
let shortLived: Parley;

beforeAll(async () => {
  parley = await startParley({ label: 'realtime_auth' });
  shortLived = await startParley({
    label: 'realtime_expiry',
    usersEnv: { ACCESS_TOKEN_TTL_SECONDS: '2' },
  });
});

afterAll(async () => {
  await parley?.stop();
  await shortLived?.stop();
});

const realtime = useRealtime(() => parley);

describe('connection_init', () => {
  it('closes a connection without a token with 4401', async () => {
    await expect(realtime.connect(undefined)).rejects.toMatchObject({ code: 4401 });
  });

  it('closes a connection with a token that is not one with 4401', async () => {
    await expect(realtime.connect(undefined, parley, { token: 'garbage' })).rejects.toMatchObject({
      code: 4401,
    });
    await expect(
      realtime.connect(undefined, parley, { connectionParams: { authorization: 'Basic Z2FyYmFnZQ==' } }),
    ).rejects.toMatchObject({ code: 4401 });
  });
});

describe('while connected', () => {
  it('closes the socket with 4401 when the access token expires', async () => {
    const user = await shortLived.registerUser('brief');
    const socket = await realtime.connect(user, shortLived);
    subscribeEvents(socket);

    const closed = await within(socket.closed, 10_000, 'the close of a socket whose token expired');
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/expir/i);
  });

  it('closes the socket with 4403 when its session logs out', async () => {
    const user = await parley.registerUser('leaving');
    const socket = await realtime.connect(user);
    subscribeEvents(socket);
    await realtime.live(1);

    expect(await ok(user, LOGOUT)).toEqual({ logout: true });

    expect(await within(socket.closed, 10_000, 'the close after logout')).toMatchObject({ code: 4403 });
  });

  it('closes the socket with 4403 when another session revokes its session', async () => {
    const user = await parley.registerUser('lost_phone');
    const socket = await realtime.connect(user);
    subscribeEvents(socket);
    await realtime.live(1);

    const { login } = await ok<{ login: { accessToken: string } }>(
      user,
      `mutation ($input: LoginInput!) { login(input: $input) { accessToken } }`,
      { input: { email: user.email, password: user.password } },
    );
    const laptop: SignedInUser = {
      ...user,
      accessToken: login.accessToken,
      client: createGraphQLClient({ url: parley.url, token: login.accessToken }),
    };
    const { me } = await ok<{ me: { sessions: { id: string; current: boolean }[] } }>(
      laptop,
      `{ me { sessions { id current } } }`,
    );
    const phone = me.sessions.find((session) => !session.current)!;
    await ok(laptop, `mutation ($id: ID!) { revokeSession(id: $id) { id } }`, { id: phone.id });

    expect(await within(socket.closed, 10_000, 'the close after revokeSession')).toMatchObject({
      code: 4403,
    });
  });
});
