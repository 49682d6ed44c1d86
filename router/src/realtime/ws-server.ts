import { markTrusted, type ResolvedQuery } from '../persisted/use-persisted-operations.js';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import {
  bearerToken,
  clientIp,
  codedError,
  followTopic,
  systemClock,
  type Clock,
  type Logger,
  type PubSub,
  type Registry,
  type SessionRevocations,
  type TokenVerifier,
  type Viewer,
} from '@parley/kit';
import {
  MAX_DEVICES_PER_REPORT,
  presenceReports,
  SOCKET_DEVICE_TTL_MS,
  type DeviceReport,
} from '@parley/presence/events';
import { userEvents } from '@parley/users/events';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { CloseCode, type SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { Gauge } from 'prom-client';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { WebSocketServer, type WebSocket } from 'ws';
import type { GraphQLServer } from '@parley/kit';
import { SocketChannel } from './outlet.js';
import { watchTokenExpiry } from './token-expiry.js';
import { WEBSOCKET } from './use-realtime.js';

/**
 * Close codes beyond the protocol's own (4400 bad request, 4408 init timeout, 4409 duplicate subscription
 * id, 4499 terminated, 1009 message too big): documented in router/README.md.
 */
export const CLOSE_CODES = {
  /** No valid access token in `connection_init`, or it expired while connected: refresh and reconnect. */
  unauthorized: CloseCode.Unauthorized,
  /** The session was revoked (logout, revokeSession, password change): sign in again. */
  sessionRevoked: CloseCode.Forbidden,
  /** More messages than WS_RATE_LIMIT_PER_MINUTE from one socket, or more sockets than a user may open. */
  tooManyMessages: 4429,
  /** The router is shutting down: reconnect (to another instance). */
  goingAway: 1001,
} as const;

export interface WebSocketLimits {
  maxSubscriptions: number;
  maxMessageBytes: number;
  ratePerMinute: number;
  keepAliveMs: number;
  /**
   * How often each socket re-checks its session, besides the revocation events it listens to; also the
   * longest it goes without reading the clock again to see whether its access token expired.
   */
  revocationCheckMs: number;
  /** Sockets one signed-in user may hold open on this router. */
  maxConnectionsPerUser: number;
  /** Sockets one client address may hold open on this router (signed in or not yet). */
  maxConnectionsPerIp: number;
  /**
   * Bytes waiting to go out on one socket past which its subscriptions drop results, and are told `LAGGING`
   * once at most half of that waits.
   */
  maxBufferedBytes: number;
}

interface Connection {
  viewer: Viewer;
  /** The socket's outgoing frames (subscriptions write theirs to it, bounded in bytes). */
  channel: SocketChannel;
  /** The device this socket is in presence (reported on the bus): its user is online while it is open. */
  deviceId: string;
  authorization: string;
  clientName: string | null;
  /** Stops the socket's timers (token expiry, session check) once it is closed. */
  stopTimers(): void;
}

/** The header a client sends in `connection_init`: `{ authorization: "Bearer …" }` (or `Authorization`). */
function authorizationOf(params: Readonly<Record<string, unknown>> | undefined): string | null {
  const value = params?.['authorization'] ?? params?.['Authorization'];
  return typeof value === 'string' ? value : null;
}

/**
 * graphql-ws on the router's HTTP server, at `/graphql`: authenticated in `connection_init`, closed when the
 * access token expires or its session is revoked; operations run through the router's yoga (the same
 * persisted-operation rules, limits and plugins as HTTP), subscriptions through the realtime engine.
 */
export async function attachWebSocketServer(options: {
  server: Server;
  yoga: GraphQLServer;
  verifyToken: TokenVerifier;
  revocations: SessionRevocations;
  /**
   * The bus: revocations arrive on it, and presence is told on it (`presence.device-reports`) when a
   * signed-in socket opens and closes, and that open ones are still there (see refreshPresence).
   */
  events: PubSub;
  /** Resolves persisted-operation references in a subscribe message to query text (see persisted/). */
  resolveQuery(
    payload: { query: string; extensions?: Record<string, unknown> | null },
    clientName: string | null,
  ): Promise<ResolvedQuery>;
  corsOrigins: readonly string[];
  /** Take the client address from X-Forwarded-For (behind a load balancer). */
  trustProxy: boolean;
  limits: WebSocketLimits;
  logger: Logger;
  metrics: Registry;
  /**
   * What a socket's access-token expiry goes by: the system's time by default; a test's clock (the one the
   * tokens were signed and are verified with) ends sockets as soon as it is advanced past their expiry.
   */
  clock?: Clock;
}) {
  const { logger, limits } = options;
  const clock = options.clock ?? systemClock;
  /** Sockets per client address and per user, counted while open. */
  const perIp = new Map<string, number>();
  const perUser = new Map<string, number>();
  const count = (counts: Map<string, number>, key: string, delta: 1 | -1) => {
    const next = (counts.get(key) ?? 0) + delta;
    if (next > 0) counts.set(key, next);
    else counts.delete(key);
  };
  const addressOf = (request: IncomingMessage) =>
    clientIp(
      new Headers(
        request.headers['x-forwarded-for']
          ? { 'x-forwarded-for': String(request.headers['x-forwarded-for']) }
          : {},
      ),
      request.socket.remoteAddress,
      options.trustProxy,
    ) ?? 'unknown';

  const wss = new WebSocketServer({
    server: options.server,
    path: '/graphql',
    maxPayload: limits.maxMessageBytes,
    verifyClient: (
      { origin, req }: { origin?: string; req: IncomingMessage },
      done: (allowed: boolean, code?: number, message?: string) => void,
    ) => {
      // Tokens travel in connection_init, not cookies, so a foreign page cannot ride a user's session; an
      // allowlist, when set, still keeps other sites' pages out.
      if (options.corsOrigins.length > 0 && origin && !options.corsOrigins.includes(origin)) {
        return done(false, 403, 'Origin not allowed');
      }
      if ((perIp.get(addressOf(req)) ?? 0) >= limits.maxConnectionsPerIp) {
        return done(false, 429, 'Too many connections from this address');
      }
      done(true);
    },
  });
  const connections = new WeakMap<WebSocket, Connection>();
  const sockets = new Set<WebSocket>();

  /**
   * Closes with a code; a client that does not answer the close frame within a second is dropped, so its
   * subscriptions (and the token they hydrate with) end at once.
   */
  const closeSocket = (socket: WebSocket, code: number, reason: string) => {
    if (socket.readyState !== socket.OPEN) return;
    socket.close(code, reason);
    setTimeout(() => socket.terminate(), 1_000).unref();
  };

  const openSockets = new Gauge({
    name: 'router_websocket_connections',
    help: 'graphql-ws connections open on this router',
    registers: [options.metrics],
  });
  const messageBudget = new RateLimiterMemory({ points: limits.ratePerMinute, duration: 60 });
  let socketCount = 0;

  // Runs before graphql-ws's own listener: counts each socket's messages and ends flooding sockets.
  wss.on('connection', (socket, request) => {
    sockets.add(socket);
    const address = addressOf(request);
    count(perIp, address, 1);
    openSockets.inc();
    const openedAt = performance.now();
    const key = String((socketCount += 1));
    socket.on('message', () => {
      messageBudget
        .consume(key)
        .catch(() => closeSocket(socket, CLOSE_CODES.tooManyMessages, 'Too many messages'));
    });
    socket.once('close', (code, reason) => {
      sockets.delete(socket);
      openSockets.dec();
      const connection = connections.get(socket);
      connection?.stopTimers();
      connection?.channel.close();
      count(perIp, address, -1);
      if (connection) {
        count(perUser, connection.viewer.userId, -1);
        reportPresence({
          touched: [],
          disconnected: [{ userId: connection.viewer.userId, deviceId: connection.deviceId }],
        });
      }
      logger.info(
        {
          userId: connection?.viewer.userId,
          code,
          reason: reason.toString().slice(0, 100),
          durationMs: Math.round(performance.now() - openedAt),
        },
        'websocket closed',
      );
    });
  });

  /**
   * Presence is a side matter for a socket: the router tells the presence service on the bus and writes
   * nothing of presence itself. A report that fails (Redis down) is logged, never closes anything; one lost
   * (or unheard: presence down) is a missed refresh (see `presenceReports` in @parley/presence/events).
   */
  let queued: DeviceReport | null = null;
  /**
   * Reports made in one turn of the event loop go out together, in messages of up to MAX_DEVICES_PER_REPORT
   * devices: a thousand sockets closing at once (a network failure, a shutdown) make two messages, not a
   * thousand. Every device touched goes before every device disconnected (a socket's touch always came
   * before its disconnect), as presence applies them within one report.
   */
  const reportPresence = (report: DeviceReport) => {
    if (!queued) {
      queued = { touched: [], disconnected: [] };
      setImmediate(publishPresence);
    }
    queued.touched.push(...report.touched);
    queued.disconnected.push(...report.disconnected);
  };
  const publishPresence = () => {
    const { touched, disconnected } = queued!;
    queued = null;
    const reports: DeviceReport[] = [];
    for (let start = 0; start < touched.length; start += MAX_DEVICES_PER_REPORT)
      reports.push({ touched: touched.slice(start, start + MAX_DEVICES_PER_REPORT), disconnected: [] });
    for (let start = 0; start < disconnected.length; start += MAX_DEVICES_PER_REPORT) {
      const devices = disconnected.slice(start, start + MAX_DEVICES_PER_REPORT);
      const last = reports.at(-1);
      // The first disconnections ride with the last touches (presence applies a report's touches first).
      if (start === 0 && last) last.disconnected = devices;
      else reports.push({ touched: [], disconnected: devices });
    }
    for (const report of reports) {
      options.events
        .publish(presenceReports.devices, report)
        .catch((error: unknown) => logger.warn({ err: error }, 'presence report failed'));
    }
  };
  /**
   * Open sockets keep their devices alive, a third of the socket TTL apart (a missed refresh or two does
   * not take anyone offline); a router that dies stops refreshing, and its sockets' devices expire.
   */
  const refreshPresence = setInterval(
    () => {
      const touched = [...sockets].flatMap((socket) => {
        const connection = connections.get(socket);
        return connection
          ? [{ userId: connection.viewer.userId, deviceId: connection.deviceId, active: false }]
          : [];
      });
      reportPresence({ touched, disconnected: [] });
    },
    Math.max(1_000, Math.floor(SOCKET_DEVICE_TTL_MS / 3)),
  );
  refreshPresence.unref();

  const stopFollowingRevocations = await followTopic(
    options.events,
    userEvents.sessionsRevoked,
    ({ sessionIds }) => {
      const ids = new Set(sessionIds);
      for (const socket of sockets) {
        const connection = connections.get(socket);
        if (connection && ids.has(connection.viewer.sessionId)) {
          closeSocket(socket, CLOSE_CODES.sessionRevoked, 'Session revoked');
        }
      }
    },
    logger,
  );

  /**
   * The execution of one subscribe message, through the router's yoga (persisted-operation rules, parse and
   * validation limits, context); GraphQL errors it throws are answered as an `error` message.
   */
  async function prepareOperation(
    extra: { connection?: Connection; request: IncomingMessage },
    subscriptions: Readonly<Record<string, unknown>>,
    id: string,
    payload: SubscribePayload,
  ): Promise<ExecutionArgs | readonly GraphQLError[]> {
    const { connection, request } = extra;
    if (!connection) return [codedError('UNAUTHENTICATED', 'Not signed in')];
    // graphql-ws has already registered this one (as null) when it asks.
    if (Object.keys(subscriptions).length > limits.maxSubscriptions) {
      return [codedError('BAD_REQUEST', `At most ${limits.maxSubscriptions} subscriptions per connection`)];
    }
    const { query, registered } = await options.resolveQuery(payload, connection.clientName);
    const headers = new Headers({ authorization: connection.authorization });
    for (const name of ['user-agent', 'x-forwarded-for', 'x-request-id', 'traceparent', 'tracestate']) {
      const value = request.headers[name];
      if (typeof value === 'string') headers.set(name, value);
    }
    if (connection.clientName) headers.set('graphql-client-name', connection.clientName);
    const httpRequest = new Request('http://router.internal/graphql', { method: 'POST', headers });
    if (registered) markTrusted(httpRequest);
    const enveloped = options.yoga.getEnveloped({ request: httpRequest, req: request, params: payload });
    const document = enveloped.parse(query);
    const errors = enveloped.validate(enveloped.schema, document);
    if (errors.length > 0) return errors;
    const contextValue = await enveloped.contextFactory();
    Object.assign(contextValue, { [WEBSOCKET]: { channel: connection.channel, id } });
    return {
      schema: enveloped.schema,
      document,
      operationName: payload.operationName,
      variableValues: payload.variables,
      contextValue,
      rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
    };
  }

  const server = useServer<Record<string, unknown>, { connection: Connection }>(
    {
      connectionInitWaitTimeout: 10_000,
      async onConnect(context) {
        const { socket, request } = context.extra;
        const authorization = authorizationOf(context.connectionParams) ?? '';
        let viewer: Viewer;
        try {
          const token = bearerToken(authorization);
          if (!token) throw codedError('UNAUTHENTICATED', 'No access token');
          viewer = await options.verifyToken(token);
        } catch (error) {
          if (!(error instanceof GraphQLError)) logger.error({ err: error }, 'token check failed');
          closeSocket(socket, CLOSE_CODES.unauthorized, 'Unauthorized');
          return false;
        }
        // Closed while the token was being checked: no timers for a socket that is gone.
        if (socket.readyState !== socket.OPEN) return false;
        if ((perUser.get(viewer.userId) ?? 0) >= limits.maxConnectionsPerUser) {
          closeSocket(socket, CLOSE_CODES.tooManyMessages, 'Too many connections for this user');
          return false;
        }
        const stopWatchingExpiry = watchTokenExpiry({
          expiresAt: viewer.expiresAt,
          clock,
          recheckMs: limits.revocationCheckMs,
          onExpired: () =>
            closeSocket(socket, CLOSE_CODES.unauthorized, 'Unauthorized: access token expired'),
        });
        const sessionCheck = setInterval(() => {
          options.revocations.isRevoked(viewer.sessionId).then(
            (isRevoked) => isRevoked && closeSocket(socket, CLOSE_CODES.sessionRevoked, 'Session revoked'),
            (error: unknown) => logger.warn({ err: error }, 'session check failed'),
          );
        }, limits.revocationCheckMs);
        const stopTimers = () => {
          stopWatchingExpiry();
          clearInterval(sessionCheck);
        };
        const params = context.connectionParams ?? {};
        const clientName =
          typeof params['clientName'] === 'string'
            ? params['clientName']
            : ((request.headers['graphql-client-name'] as string | undefined) ?? null);
        const deviceId = `ws:${randomUUID()}`;
        const channel = new SocketChannel(socket, limits.maxBufferedBytes);
        const connection = { viewer, channel, deviceId, authorization, clientName, stopTimers };
        connections.set(socket, connection);
        count(perUser, viewer.userId, 1);
        context.extra.connection = connection;
        // A revocation announced while the token was being checked found no connection to close.
        if (await options.revocations.isRevoked(viewer.sessionId)) {
          closeSocket(socket, CLOSE_CODES.sessionRevoked, 'Session revoked');
          return false;
        }
        // Only a socket that stays open is a device (a deleted account's revoked session never is one). One
        // that closed during the check has sent its disconnect already: touching now would leave a ghost.
        if (socket.readyState !== socket.OPEN) return false;
        reportPresence({
          touched: [{ userId: viewer.userId, deviceId, active: true }],
          disconnected: [],
        });
        return true;
      },
      async onSubscribe(context, id, payload) {
        try {
          return await prepareOperation(context.extra, context.subscriptions, id, payload);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          logger.error({ err: error, operationId: id }, 'operation could not start');
          return [codedError('SERVICE_UNAVAILABLE', 'The operation could not start; retry later')];
        }
      },
      execute: (args) => (args.rootValue as { execute: (args: ExecutionArgs) => never }).execute(args),
      subscribe: (args) => (args.rootValue as { subscribe: (args: ExecutionArgs) => never }).subscribe(args),
    },
    wss,
    limits.keepAliveMs,
  );

  return {
    /** Closes every socket (1001, going away) and stops listening for upgrades. */
    async close() {
      clearInterval(refreshPresence);
      await stopFollowingRevocations();
      for (const socket of sockets) closeSocket(socket, CLOSE_CODES.goingAway, 'Server shutting down');
      await server.dispose();
      // The close frames are sent; a client that does not answer them must not hold the shutdown.
      for (const socket of sockets) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
