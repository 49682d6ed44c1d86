import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { listen, type Logger, type ReservedListener, type RunningServer } from '@parley/kit';

/**
 * The part of Next's custom-server API used here. Loaded through require and typed locally: importing
 * `next`'s own types would pull its global declarations (a required `process.env.NODE_ENV`) into every
 * program that starts the web server (the launcher, the tests), and its CommonJS default export does not
 * type-check as callable from an ES module.
 */
interface NextApp {
  prepare(): Promise<void>;
  getRequestHandler(): (request: IncomingMessage, response: ServerResponse) => Promise<void>;
  close(): Promise<void>;
}
const createNextApp = createRequire(import.meta.url)('next') as (options: {
  dev: boolean;
  dir: string;
  quiet?: boolean;
}) => NextApp;

/** What the browser app is told at start-up (`/config.json`): where the graph is. */
export interface WebClientConfig {
  graphqlUrl: string;
  wsUrl: string;
}

export interface WebServerOptions extends WebClientConfig {
  port?: number;
  host?: string;
  /** `next dev` (compiles on demand, hot reload) instead of the production build in `web/.next`. */
  dev?: boolean;
  /** Serve on a listener reserved earlier (its origin was needed before this server could start). */
  listener?: ReservedListener;
  logger: Logger;
}

/** graphql-ws lives on the router's `/graphql` too: the same URL with a WebSocket scheme. */
export const websocketUrlOf = (graphqlUrl: string) => graphqlUrl.replace(/^http/, 'ws');

/**
 * Serves the Next.js app. The browser reads where the graph is from `/config.json` at run time, so one
 * build serves any deployment (NEXT_PUBLIC_* variables would be frozen into the bundle at build time).
 */
export async function startWebServer(options: WebServerOptions) {
  const app = createNextApp({
    dev: options.dev ?? false,
    dir: path.join(import.meta.dirname, '..'),
    quiet: true,
  });
  await app.prepare();
  const handle = app.getRequestHandler();
  const config = JSON.stringify({
    graphqlUrl: options.graphqlUrl,
    wsUrl: options.wsUrl,
  } satisfies WebClientConfig);

  const handler = (request: IncomingMessage, response: ServerResponse) => {
    if (request.url === '/config.json') {
      response
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(config);
      return;
    }
    handle(request, response).catch((error: unknown) => {
      options.logger.error({ err: error, url: request.url }, 'web request failed');
      if (!response.headersSent) response.writeHead(500).end();
    });
  };

  let server: RunningServer;
  if (options.listener) {
    options.listener.serve(handler);
    server = options.listener;
  } else {
    server = await listen(handler, options.port ?? 3000, options.host ?? '127.0.0.1');
  }
  options.logger.info({ url: server.url }, 'web ready');
  return {
    url: server.url,
    async stop() {
      if (!options.listener) await server.close();
      await app.close();
    },
  };
}

export type WebServer = Awaited<ReturnType<typeof startWebServer>>;
