import { pathToFileURL } from 'node:url';
import { parseEnv, portSchema } from '@parley/kit';
import { z } from 'zod';

/** Every demo account signs in with it (printed by the command). */
export const DEMO_PASSWORD = 'parley demo password';

/** The client name the seed's requests carry (`graphql-client-name`), as a third-party client would. */
const SEED_CLIENT = 'parley-seed';

const DEMO_USERS = [
  { key: 'alice', displayName: 'Alice' },
  { key: 'bob', displayName: 'Bob' },
  { key: 'carol', displayName: 'Carol' },
] as const;
type DemoKey = (typeof DEMO_USERS)[number]['key'];

export const DEMO_GROUP_TITLE = 'Parley demo';

/** What each conversation gets, in order: the sender and the body. */
const DIRECT_MESSAGES: [DemoKey, string][] = [
  ['alice', 'Hi Bob! This is Parley, a chat served as one federated GraphQL graph.'],
  ['bob', 'Hi Alice. Messages arrive over graphql-ws as soon as they are sent.'],
  ['alice', 'Try editing, reacting or replying to this one.'],
];
const GROUP_MESSAGES: [DemoKey, string][] = [
  ['alice', 'Welcome to the demo group, Bob and Carol.'],
  ['carol', 'Hello both! Typing indicators and read receipts work here too.'],
  ['bob', 'Attach a file with the paperclip: images get a thumbnail.'],
  ['alice', 'Sign in as any of us with the demo password to see the other side.'],
];

const AUTH_FIELDS = 'accessToken user { id username }';
const LOGIN = `mutation SeedLogin($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`;
const REGISTER = `mutation SeedRegister($input: RegisterInput!) { register(input: $input) { ${AUTH_FIELDS} } }`;
const CREATE_DM = `mutation SeedDirect($userId: ID!) { createDirectConversation(userId: $userId) { id } }`;
const MY_GROUPS = `query SeedGroups($after: String) {
  me { conversations(first: 50, after: $after, filter: { kind: GROUP, archived: null }) {
    edges { node { id title viewerRole } }
    pageInfo { hasNextPage endCursor }
  } }
}`;
const CREATE_GROUP = `mutation SeedGroup($input: CreateGroupInput!) { createGroup(input: $input) { id } }`;
const ADD_MEMBERS = `mutation SeedMembers($id: ID!, $userIds: [ID!]!) {
  addMembers(conversationId: $id, userIds: $userIds) { id }
}`;
const SEND = `mutation SeedSend($input: SendMessageInput!) { sendMessage(input: $input) { id seq body } }`;

interface GraphQLError {
  message: string;
  extensions?: { code?: string; reason?: string; field?: string };
}

export class SeedError extends Error {
  constructor(
    message: string,
    readonly errors: GraphQLError[] = [],
  ) {
    super(message);
    this.name = 'SeedError';
  }
}

export interface SeedOptions {
  /** The router's GraphQL endpoint. */
  url: string;
  /** Progress lines (none by default). */
  log?: (line: string) => void;
}

export interface SeededUser {
  id: string;
  username: string;
  email: string;
  /** False when the account existed and the seed signed in instead. */
  registered: boolean;
}

export interface SeedResult {
  users: Record<DemoKey, SeededUser>;
  direct: { id: string };
  group: { id: string; created: boolean };
  messages: { conversationId: string; id: string; seq: number; body: string }[];
}

function graph(url: string) {
  return async function request<T>(query: string, variables: object = {}, token?: string): Promise<T> {
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          'graphql-client-name': SEED_CLIENT,
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
    } catch (error) {
      throw new SeedError(`Cannot reach ${url} (is the platform running? \`npm start\`): ${String(error)}`);
    }
    const text = await response.text();
    let body: { data?: T | null; errors?: GraphQLError[] };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new SeedError(`${url} answered ${response.status}, not GraphQL: ${text.slice(0, 200)}`);
    }
    const errors = body.errors ?? [];
    if (errors.some((error) => error.extensions?.code === 'PERSISTED_QUERY_NOT_IN_LIST')) {
      throw new SeedError(
        `${url} runs only registered operations (persisted-only mode, the production default): seed a ` +
          `development router (\`npm start\`), or one with PERSISTED_ONLY=false`,
        errors,
      );
    }
    if (errors.length > 0 || !body.data) {
      const described = errors.map((error) => `${error.message} (${error.extensions?.code ?? 'no code'})`);
      throw new SeedError(`GraphQL error: ${described.join('; ') || `HTTP ${response.status}`}`, errors);
    }
    return body.data;
  };
}

const hasCode = (error: unknown, code: string, reason?: string) =>
  error instanceof SeedError &&
  error.errors.some(
    (each) => each.extensions?.code === code && (!reason || each.extensions?.reason === reason),
  );

/**
 * Demo data on a running platform, through its router: alice, bob and carol (one password, DEMO_PASSWORD),
 * a direct conversation between alice and bob, a group of the three owned by alice, and a few messages in
 * each. Safe to run again: existing accounts are signed in to, the direct conversation is the pair's one,
 * the group is found by its title, and each message has a fixed clientMutationId, so a repeated send
 * returns the message already sent.
 */
export async function seed({ url, log = () => {} }: SeedOptions): Promise<SeedResult> {
  const request = graph(url);
  type Auth = { accessToken: string; user: { id: string; username: string } };

  const users = {} as Record<DemoKey, SeededUser>;
  const tokens = {} as Record<DemoKey, string>;
  for (const { key, displayName } of DEMO_USERS) {
    const email = `${key}@example.com`;
    const credentials = { email, password: DEMO_PASSWORD };
    let auth: Auth;
    let registered = false;
    try {
      auth = (await request<{ login: Auth }>(LOGIN, { input: credentials })).login;
    } catch (error) {
      if (!hasCode(error, 'UNAUTHENTICATED', 'INVALID_CREDENTIALS')) throw error;
      try {
        const input = { ...credentials, username: key, displayName };
        auth = (await request<{ register: Auth }>(REGISTER, { input })).register;
        registered = true;
      } catch (registerError) {
        if (!hasCode(registerError, 'CONFLICT')) throw registerError;
        throw new SeedError(
          `${key} exists with another password (or ${email} belongs to someone else): reset the data or ` +
            `change it back to the demo password`,
        );
      }
    }
    users[key] = { id: auth.user.id, username: auth.user.username, email, registered };
    tokens[key] = auth.accessToken;
    log(`${key.padEnd(5)} ${registered ? 'registered' : 'signed in (already registered)'}: ${email}`);
  }
  const as = (key: DemoKey) => tokens[key];

  const direct = (
    await request<{ createDirectConversation: { id: string } }>(
      CREATE_DM,
      { userId: users.bob.id },
      as('alice'),
    )
  ).createDirectConversation;
  log(`direct  alice and bob: ${direct.id}`);

  const others = [users.bob.id, users.carol.id];
  let group: { id: string; created: boolean } | undefined;
  for (let after: string | null = null; !group;) {
    type Page = {
      edges: { node: { id: string; title: string | null; viewerRole: string } }[];
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
    const page: Page = (await request<{ me: { conversations: Page } }>(MY_GROUPS, { after }, as('alice'))).me
      .conversations;
    const found = page.edges.find(
      ({ node }) => node.title === DEMO_GROUP_TITLE && node.viewerRole === 'OWNER',
    )?.node;
    if (found) {
      // Members already in it are skipped: this only brings back one who left.
      await request(ADD_MEMBERS, { id: found.id, userIds: others }, as('alice'));
      group = { id: found.id, created: false };
    } else if (page.pageInfo.hasNextPage) {
      after = page.pageInfo.endCursor;
    } else {
      const input = { title: DEMO_GROUP_TITLE, memberIds: others };
      const created = (await request<{ createGroup: { id: string } }>(CREATE_GROUP, { input }, as('alice')))
        .createGroup;
      group = { id: created.id, created: true };
    }
  }
  log(`group   "${DEMO_GROUP_TITLE}" ${group.created ? 'created' : 'found'}: ${group.id}`);

  const messages: SeedResult['messages'] = [];
  for (const [conversationId, script] of [
    [direct.id, DIRECT_MESSAGES],
    [group.id, GROUP_MESSAGES],
  ] as const) {
    for (const [index, [sender, body]] of script.entries()) {
      // Unique per sender and conversation: a rerun returns the message this key already sent.
      const input = { conversationId, body, clientMutationId: `seed:${conversationId}:${index}` };
      const { sendMessage } = await request<{ sendMessage: { id: string; seq: number; body: string } }>(
        SEND,
        { input },
        as(sender),
      );
      messages.push({ conversationId, ...sendMessage });
    }
  }
  log(`messages ${messages.length} in place (a rerun sends none twice)`);
  return { users, direct, group, messages };
}

/** `npm run seed [-- <router GraphQL URL>]`; PARLEY_URL, else the router `npm start` runs (ROUTER_PORT). */
async function main() {
  const env = parseEnv(
    z.object({ PARLEY_URL: z.url().optional(), ROUTER_PORT: portSchema.default(4000) }),
    process.env,
  );
  const url = process.argv[2] ?? env.PARLEY_URL ?? `http://127.0.0.1:${env.ROUTER_PORT}/graphql`;
  console.log(`Seeding ${url}`);
  await seed({ url, log: (line) => console.log(`  ${line}`) });
  console.log(`Demo accounts: alice@example.com, bob@example.com, carol@example.com`);
  console.log(`Password:      ${DEMO_PASSWORD}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof SeedError ? error.message : error);
    process.exit(1);
  });
}
