/**
 * Child process: the Socket.IO baseline. A client joins the rooms of the groups it names in its handshake;
 * `send` broadcasts to a room through @socket.io/redis-adapter (Redis pub/sub, as a scaled-out deployment
 * would) and acknowledges.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { serveParent } from '../lib/child.js';

const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const publisher = new Redis(redisUrl);
const subscriber = publisher.duplicate();
const http = createServer();
const io = new Server(http, {
  transports: ['websocket'],
  adapter: createAdapter(publisher, subscriber, { key: `bench-socketio-${process.pid}` }),
});

io.on('connection', (socket) => {
  const groups = socket.handshake.auth['groups'];
  if (Array.isArray(groups))
    void socket.join(groups.filter((group): group is string => typeof group === 'string'));
  socket.on('send', (message: { groupId: string; body: string }, ack?: () => void) => {
    io.to(message.groupId).emit('message', { body: message.body, sender: socket.handshake.auth['userId'] });
    ack?.();
  });
});

await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
serveParent({ url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` }, async () => {
  await io.close();
  publisher.disconnect();
  subscriber.disconnect();
});
