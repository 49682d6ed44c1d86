import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';
import { metricsHandler, type Registry } from './metrics.js';
import type { Resources, RunningService } from './resources.js';

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Listens on `port` (0 = a free one) on `host`; `close` stops accepting and ends idle keep-alive sockets. */
export async function listen(
  handler: RequestListener,
  port: number,
  host = '127.0.0.1',
): Promise<RunningServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    port: address.port,
    url: `http://${urlHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

export interface ReservedListener extends RunningServer {
  /** Answers with `handler` from now on (503 until the first call, and after the service stops). */
  serve(handler: RequestListener): void;
}

/** What a reserved listener answers while no service is behind it: 503, try again. */
const unavailable: RequestListener = (_request, response) => {
  response.writeHead(503, { 'retry-after': '1' }).end();
};

/**
 * A server already listening whose handler comes later: its address (a free port) can be told to others
 * before what answers there has started (the web app's origin, allowed by the router's CORS; the files
 * service's blob listener, whose URL its storage signs).
 */
export async function reserveListener(port = 0, host = '127.0.0.1'): Promise<ReservedListener> {
  let current = unavailable;
  const server = await listen((request, response) => current(request, response), port, host);
  return {
    ...server,
    serve(handler) {
      current = handler;
    },
  };
}

/**
 * Serves a service's metrics (`metricsHandler`) on its METRICS_PORT and HOST, until `resources` close;
 * returns the URL of its `/metrics`.
 */
export async function listenMetrics(
  resources: Resources,
  registry: Registry,
  env: { METRICS_PORT: number; HOST: string },
): Promise<string> {
  const server = await listen(metricsHandler(registry), env.METRICS_PORT, env.HOST);
  resources.add(() => server.close());
  return `${server.url}/metrics`;
}

/**
 * The last step of a service's start: serves its metrics on METRICS_PORT, listens on its PORT and HOST (or
 * serves on a reserved listener), closes both with its other resources, and logs "<name> ready" with its
 * GraphQL and metrics URLs.
 */
export async function listenService(
  resources: Resources,
  handler: RequestListener,
  options: {
    env: { PORT: number; METRICS_PORT: number; HOST: string };
    metrics: Registry;
    logger: Logger;
    name: string;
    listener?: ReservedListener | undefined;
  },
): Promise<Omit<RunningService, 'stop'>> {
  const metricsUrl = await listenMetrics(resources, options.metrics, options.env);
  const { listener } = options;
  let server: RunningServer;
  if (listener) {
    // Closed by whoever reserved it; once this service stops, it answers 503 again, not a stopped server.
    listener.serve(handler);
    resources.add(async () => listener.serve(unavailable));
    server = listener;
  } else {
    server = await listen(handler, options.env.PORT, options.env.HOST);
    resources.add(() => server.close());
  }
  options.logger.info({ url: `${server.url}/graphql`, metricsUrl }, `${options.name} ready`);
  return { url: server.url, port: server.port, metricsUrl };
}
