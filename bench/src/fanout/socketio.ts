import { io, type Socket } from 'socket.io-client';
import type { FanoutTarget, FanoutWorld } from './scenario.js';

/**
 * Clients of the Socket.IO baseline: each joins its user's groups; sends go over one extra socket per sender
 * (as a chat client would send on its own socket), acknowledged by the server.
 */
export function socketIoTarget(url: string, world: FanoutWorld): FanoutTarget {
  const groupsOf = new Map<string, string[]>();
  for (const group of world.groups) {
    for (const member of group.memberIds) groupsOf.set(member, [...(groupsOf.get(member) ?? []), group.id]);
  }
  const senders = new Map<string, Promise<Socket>>();
  const open = (auth: Record<string, unknown>) =>
    new Promise<Socket>((resolve, reject) => {
      const socket = io(url, { transports: ['websocket'], reconnection: false, auth });
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    });
  return {
    async connect(user, onMessage) {
      const socket = await open({ userId: user.id, groups: groupsOf.get(user.id) ?? [] });
      socket.on('message', (message: { body: string }) => onMessage(message.body));
      return { close: () => void socket.close() };
    },
    async send(user, groupId, body) {
      let sender = senders.get(user.id);
      if (!sender) senders.set(user.id, (sender = open({ userId: user.id, groups: [] })));
      const socket = await sender;
      await socket.timeout(10_000).emitWithAck('send', { groupId, body });
    },
    async dispose() {
      for (const sender of senders.values()) (await sender).close();
    },
  };
}
