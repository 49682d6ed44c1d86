import { readConversationsEnv } from '@parley/conversations/env';
import { startConversationsService } from '@parley/conversations/service';
import { startWithResources, type Logger } from '@parley/kit';
import { readMessagesEnv } from '@parley/messages/env';
import { startMessagesService } from '@parley/messages/service';
import { readRouterEnv } from '@parley/router/env';
import { startRouterService } from '@parley/router/service';
import { readUsersEnv } from '@parley/users/env';
import { startUsersService } from '@parley/users/service';

type Variables = Record<string, string | undefined>;

export interface PlatformOptions {
  /** Variables every service reads (DATABASE_URL, REDIS_URL, NODE_ENV, ...). */
  env: Variables;
  /** Per-service variables on top, e.g. each one's PORT. */
  usersEnv?: Variables;
  conversationsEnv?: Variables;
  messagesEnv?: Variables;
  routerEnv?: Variables;
  logger: Logger;
}

/**
 * Starts every subgraph, then the router in front of them, in this process: `npm start` and the test
 * kit both run the platform through here, so adding a subgraph means wiring it once.
 */
export function startPlatform({
  env,
  usersEnv = {},
  conversationsEnv = {},
  messagesEnv = {},
  routerEnv = {},
  logger,
}: PlatformOptions) {
  return startWithResources(async (resources) => {
    const users = await startUsersService(
      // Its callers are the router, which forwards each client's address in X-Forwarded-For.
      readUsersEnv({ ...env, TRUST_PROXY: 'true', ...usersEnv }),
      logger.child({ service: 'users' }),
    );
    resources.add(() => users.stop());
    const usersUrl = `${users.url}/graphql`;

    const conversations = await startConversationsService(
      readConversationsEnv({
        ...env,
        TRUST_PROXY: 'true',
        USERS_SUBGRAPH_URL: usersUrl,
        ...conversationsEnv,
      }),
      logger.child({ service: 'conversations' }),
    );
    resources.add(() => conversations.stop());
    const conversationsUrl = `${conversations.url}/graphql`;

    const messages = await startMessagesService(
      readMessagesEnv({
        ...env,
        TRUST_PROXY: 'true',
        USERS_SUBGRAPH_URL: usersUrl,
        CONVERSATIONS_SUBGRAPH_URL: conversationsUrl,
        ...messagesEnv,
      }),
      logger.child({ service: 'messages' }),
    );
    resources.add(() => messages.stop());
    const messagesUrl = `${messages.url}/graphql`;

    const router = await startRouterService(
      readRouterEnv({
        ...env,
        SUBGRAPH_USERS_URL: usersUrl,
        SUBGRAPH_CONVERSATIONS_URL: conversationsUrl,
        SUBGRAPH_MESSAGES_URL: messagesUrl,
        ...routerEnv,
      }),
      logger.child({ service: 'router' }),
    );
    resources.add(() => router.stop());

    return {
      /** The graph, for clients. */
      router: { url: `${router.url}/graphql`, wsUrl: `${router.wsUrl}/graphql`, baseUrl: router.url },
      subgraphs: { users: usersUrl, conversations: conversationsUrl, messages: messagesUrl },
    };
  });
}

export type Platform = Awaited<ReturnType<typeof startPlatform>>;
