import { defineTopic, type PayloadInputOf } from '@parley/kit';
import { z } from 'zod';

const id = z.string().min(1).max(100);

/**
 * Topics this subgraph appends to the realtime log: the one declaration of each topic's name and payload,
 * which consumers (the router's realtime engine) import as `@parley/presence/events`.
 */
export const presenceEvents = {
  changed: defineTopic(
    'presence.changed',
    z.object({
      userId: id,
      status: z.enum(['ONLINE', 'AWAY', 'OFFLINE']),
      /** ISO time; null while not OFFLINE, when the user hides it, or never seen. */
      lastSeenAt: z.iso.datetime().nullable(),
      /** Who may see it when it happened: the user, their contacts and fellow members, minus blocks either way. */
      audience: z.array(id).max(1_000_000),
    }),
  ),
  typing: defineTopic(
    'presence.typing',
    z.object({
      conversationId: id,
      userId: id,
      typing: z.boolean(),
      /** ISO time the indicator ends unless renewed; null when it stopped. */
      expiresAt: z.iso.datetime().nullable(),
      /** Members who are not told: a block either way between them and the typing user (absent from older events). */
      excludedUserIds: z.array(id).max(100_000).default([]),
    }),
  ),
} as const;

export type PresenceChangedPayload = PayloadInputOf<typeof presenceEvents.changed>;
export type TypingPayload = PayloadInputOf<typeof presenceEvents.typing> & { excludedUserIds: string[] };

/**
 * A router socket is a device of its user for this long after the router last reported it (opened or still
 * open): the router reports its open sockets a third of it apart, so a router that dies stops reporting and
 * its sockets expire, and a report or two lost (presence or the bus down) takes nobody offline. Heartbeats
 * have their own TTL (PRESENCE_DEVICE_TTL_SECONDS), which does not apply to sockets.
 */
export const SOCKET_DEVICE_TTL_MS = 60_000;

/** The most devices one report names in each of its lists: a router reports more in several. */
export const MAX_DEVICES_PER_REPORT = 500;

const socketDevice = z.object({
  userId: id,
  /** `ws:<connection>`: a report speaks of router sockets only, never of a heartbeating session. */
  deviceId: z.string().startsWith('ws:').max(100),
});

/**
 * Topics presence follows on the bus (`followTopic`), published by others: the one declaration of each,
 * which publishers import as `@parley/presence/events`.
 */
export const presenceReports = {
  /**
   * The router's sockets, which presence applies to its live state in the order published (`touched`
   * first, then `disconnected`): a socket opened (`active: true`, activity) or still open (its periodic
   * refresh, `active: false`), and sockets closed. A report lost (nothing follows the bus then) is a missed
   * refresh: a socket whose opening was lost shows at the next refresh, one whose closing was lost expires
   * SOCKET_DEVICE_TTL_MS after its last report.
   */
  devices: defineTopic(
    'presence.device-reports',
    z.object({
      touched: z.array(socketDevice.extend({ active: z.boolean() })).max(MAX_DEVICES_PER_REPORT),
      disconnected: z.array(socketDevice).max(MAX_DEVICES_PER_REPORT),
    }),
  ),
} as const;

export type DeviceReport = PayloadInputOf<typeof presenceReports.devices>;
