import { randomBytes } from 'node:crypto';
import { readConversationsEnv } from '@parley/conversations/env';
import { startConversationsService } from '@parley/conversations/service';
import { readFilesEnv } from '@parley/files/env';
import { startFilesService } from '@parley/files/service';
import {
  createDatabaseIfMissing,
  embeddedDatabaseName,
  reserveListener,
  startEmbeddedPostgres,
  startWithResources,
  type Clock,
  type EmbeddedPostgres,
  type Logger,
  type RunningService,
} from '@parley/kit';
import { readMessagesEnv } from '@parley/messages/env';
import { startMessagesService } from '@parley/messages/service';
import { readRouterEnv } from '@parley/router/env';
import { startRouterService } from '@parley/router/service';
import { readUsersEnv } from '@parley/users/env';
import { readPresenceEnv } from '@parley/presence/env';
import { startPresenceService } from '@parley/presence/service';
import { startUsersService } from '@parley/users/service';
import { startWebServer } from '@parley/web/server';

type Variables = Record<string, string | undefined>;

/** The services the platform runs (the web app aside). */
export type ServiceName = 'router' | 'users' | 'conversations' | 'messages' | 'presence' | 'files';

export interface PlatformOptions {
  /** Variables every service reads (DATABASE_URL, REDIS_URL, NODE_ENV, ...). */
  env: Variables;
  /** Per-service variables on top, e.g. each one's PORT. */
  usersEnv?: Variables;
  conversationsEnv?: Variables;
  messagesEnv?: Variables;
  presenceEnv?: Variables;
  filesEnv?: Variables;
  routerEnv?: Variables;
  /**
   * Also serve the web app (its production build) on this port (0: a free one), allowed by the router's and
   * the file store's CORS on top of any origins they are configured with.
   */
  web?: { port: number };
  /**
   * What the services read the time from: the system's by default; a test's own clock makes time pass at once.
   * Files, presence, users (access tokens and sessions) and the router (token expiry, on requests and open
   * sockets) take it; the others read the system's. A service checking access tokens by the system's time
   * accepts every token the router does, as long as the clock is not behind the system's.
   */
  clock?: Clock;
  logger: Logger;
}

/**
 * A service's database on the server of `serverUrl`: the URL's database name (`parley` if it has none) and the
 * service's (`parley_users`), with the server's `postgres` database to create it from.
 */
export function serviceDatabaseOn(serverUrl: string, service: string) {
  const url = new URL(serverUrl);
  const base = decodeURIComponent(url.pathname.slice(1)) || 'parley';
  const databaseName = `${base}_${service}`;
  url.pathname = `/${encodeURIComponent(databaseName)}`;
  const serviceUrl = url.toString();
  url.pathname = '/postgres';
  return { serviceUrl, databaseName, maintenanceUrl: url.toString() };
}

/** Connections per service to the embedded server (DATABASE_POOL_MAX overrides). */
const EMBEDDED_POOL_MAX = 4;

/** Adds origins to a comma-separated CORS list (none configured: just them). */
const withOrigins = (configured: string | undefined, origins: string[]) =>
  [configured, ...origins].filter(Boolean).join(',');

/**
 * Starts every subgraph, then the router in front of them, in this process: `npm start` and the test
 * kit both run the platform through here, so adding a subgraph means wiring it once.
 */
export function startPlatform({
  env,
  usersEnv = {},
  conversationsEnv = {},
  messagesEnv = {},
  presenceEnv = {},
  filesEnv = {},
  routerEnv = {},
  web,
  clock,
  logger,
}: PlatformOptions) {
  // The services of this process trust each other's service tokens: one secret for all, made up when unset.
  const shared = { SERVICE_TOKEN_SECRET: randomBytes(32).toString('base64url'), ...env };
  return startWithResources(async (resources) => {
    /** Each service's Prometheus metrics (its own METRICS_PORT), by service name. */
    const metrics: Partial<Record<ServiceName, string>> = {};

    // A service with no DATABASE_URL of its own gets a database of its own: on the server of the platform's
    // DATABASE_URL (named after it: `…/parley` gives `parley_users`, created if missing), or without one on
    // an embedded PostgreSQL server started for the first such service (registered before them, it stops
    // after them).
    let database: EmbeddedPostgres | undefined;
    async function databaseOf(
      name: Exclude<ServiceName, 'router'>,
      variables: Variables,
    ): Promise<Variables> {
      if (variables['DATABASE_URL']) return {};
      const serverUrl = env['DATABASE_URL'];
      if (serverUrl) {
        const { serviceUrl, databaseName, maintenanceUrl } = serviceDatabaseOn(serverUrl, name);
        await createDatabaseIfMissing(maintenanceUrl, databaseName);
        return { DATABASE_URL: serviceUrl };
      }
      if (!database) {
        database = await startEmbeddedPostgres({
          dataDir: env['EMBEDDED_DATA_DIR'] ?? '.data',
          logger: logger.child({ service: 'postgres' }),
        });
        resources.add(() => database!.stop());
      }
      const databaseName = embeddedDatabaseName(name);
      await database.ensureDatabase(databaseName);
      return {
        DATABASE_URL: database.urlFor(databaseName),
        // One person's machine: a few connections per service (each is a server process) unless told otherwise.
        DATABASE_POOL_MAX: env['DATABASE_POOL_MAX'] ?? String(EMBEDDED_POOL_MAX),
      };
    }
    /**
     * Starts one subgraph with the shared variables, its own on top, registers its stop and returns its
     * GraphQL URL. Its callers are the router, which forwards each client's address in X-Forwarded-For.
     */
    async function subgraph<Env>(
      name: Exclude<ServiceName, 'router'>,
      read: (variables: Variables) => Env,
      start: (env: Env, logger: Logger) => Promise<RunningService>,
      variables: Variables,
    ) {
      const service = await start(
        read({ ...shared, TRUST_PROXY: 'true', ...(await databaseOf(name, variables)), ...variables }),
        logger.child({ service: name }),
      );
      resources.add(() => service.stop());
      metrics[name] = service.metricsUrl;
      return `${service.url}/graphql`;
    }

    // The web app's address comes first: the router and the file store allow its origin.
    const webListener = web ? await reserveListener(web.port) : undefined;
    if (webListener) {
      resources.add(() => webListener.close());
      const origins = [webListener.url, `http://localhost:${webListener.port}`];
      routerEnv = {
        ...routerEnv,
        CORS_ORIGINS: withOrigins(routerEnv['CORS_ORIGINS'] ?? env['CORS_ORIGINS'], origins),
      };
      filesEnv = {
        ...filesEnv,
        FILES_CORS_ORIGINS: withOrigins(filesEnv['FILES_CORS_ORIGINS'] ?? env['FILES_CORS_ORIGINS'], origins),
      };
    }

    // Conversations asks users (relations, blocks); users asks no service (conversations tells fellow members
    // of profile changes from users' stream). So users starts first and conversations is told its address.
    const usersUrl = await subgraph(
      'users',
      readUsersEnv,
      (variables, serviceLogger) => startUsersService(variables, serviceLogger, { clock }),
      usersEnv,
    );
    const conversationsUrl = await subgraph(
      'conversations',
      readConversationsEnv,
      startConversationsService,
      {
        USERS_SUBGRAPH_URL: usersUrl,
        ...conversationsEnv,
      },
    );
    // Messages asks files (which files a sender may attach, recorded as shared); files never asks messages: it
    // follows messages' events. So files starts first and messages is told its address.
    const filesUrl = await subgraph(
      'files',
      readFilesEnv,
      (variables, serviceLogger) => startFilesService(variables, serviceLogger, { clock }),
      { USERS_SUBGRAPH_URL: usersUrl, CONVERSATIONS_SUBGRAPH_URL: conversationsUrl, ...filesEnv },
    );
    const messagesUrl = await subgraph('messages', readMessagesEnv, startMessagesService, {
      USERS_SUBGRAPH_URL: usersUrl,
      CONVERSATIONS_SUBGRAPH_URL: conversationsUrl,
      FILES_SUBGRAPH_URL: filesUrl,
      ...messagesEnv,
    });
    const presenceUrl = await subgraph(
      'presence',
      readPresenceEnv,
      (variables, serviceLogger) => startPresenceService(variables, serviceLogger, { clock }),
      { USERS_SUBGRAPH_URL: usersUrl, CONVERSATIONS_SUBGRAPH_URL: conversationsUrl, ...presenceEnv },
    );

    const router = await startRouterService(
      readRouterEnv({
        ...shared,
        SUBGRAPH_USERS_URL: usersUrl,
        SUBGRAPH_CONVERSATIONS_URL: conversationsUrl,
        SUBGRAPH_MESSAGES_URL: messagesUrl,
        SUBGRAPH_PRESENCE_URL: presenceUrl,
        SUBGRAPH_FILES_URL: filesUrl,
        ...routerEnv,
      }),
      logger.child({ service: 'router' }),
      { clock },
    );
    resources.add(() => router.stop());
    metrics['router'] = router.metricsUrl;

    const webServer = webListener
      ? await startWebServer({
          graphqlUrl: `${router.url}/graphql`,
          wsUrl: `${router.wsUrl}/graphql`,
          listener: webListener,
          logger: logger.child({ service: 'web' }),
        })
      : undefined;
    if (webServer) resources.add(() => webServer.stop());

    return {
      /** The embedded PostgreSQL server (without DATABASE_URL). */
      database: database && { port: database.port, pid: database.pid },
      /** The web app, when asked for. */
      web: webServer ? { url: webServer.url } : undefined,
      /** The graph, for clients. */
      router: { url: `${router.url}/graphql`, wsUrl: `${router.wsUrl}/graphql`, baseUrl: router.url },
      subgraphs: {
        users: usersUrl,
        conversations: conversationsUrl,
        messages: messagesUrl,
        presence: presenceUrl,
        files: filesUrl,
      },
      /** Each service's `/metrics`, on its own port (METRICS_PORT), by service name. */
      metrics: metrics as Record<ServiceName, string>,
    };
  });
}

export type Platform = Awaited<ReturnType<typeof startPlatform>>;
