import hdr from 'hdr-histogram-js';

/** Who is in which group, and each user's token: the same shape for Parley and the Socket.IO baseline. */
export interface FanoutWorld {
  users: { id: string; accessToken: string }[];
  groups: { id: string; memberIds: string[] }[];
  /** Two users in none of the groups and a conversation of their own, for the slow-client steps. */
  slow: {
    sender: FanoutWorld['users'][number];
    reader: FanoutWorld['users'][number];
    conversationId: string;
  };
}

/** What one side of the comparison has to offer the scenario. */
export interface FanoutTarget {
  /** Opens one client for `user`, calling `onMessage(body)` for each message it receives. */
  connect(user: FanoutWorld['users'][number], onMessage: (body: string) => void): Promise<{ close(): void }>;
  /** Sends `body` to `groupId` as `user`; resolves when the server accepted it. */
  send(user: FanoutWorld['users'][number], groupId: string, body: string): Promise<void>;
  /** Closes what `send` opened. */
  dispose?(): Promise<void>;
  /** One client of `user` holding `subscriptions` subscriptions on one socket, for the slow-client steps. */
  connectSlow?(user: FanoutWorld['users'][number], subscriptions: number): Promise<SlowClient>;
}

/** A client whose socket can stop reading (what the server sends waits in the network, then in the server). */
export interface SlowClient {
  pause(): void;
  resume(): void;
  /** For each subscription told it lagged (`LAGGING`): how many messages it had received before. */
  lagged(): number[];
  close(): void;
}

export interface SlowClientOptions {
  /** The groups' message rate during both steps. */
  rate: number;
  /** Subscriptions on the slow client's one socket (each is owed every message). */
  subscriptions: number;
  /** Large messages per second to the slow client's conversation, and their size. */
  bulkRate: number;
  bodyChars: number;
  /** How long its socket is not read, from the start of the step. */
  stallSeconds: number;
}

export interface FanoutStep {
  messagesPerSecond: number;
  offeredDeliveriesPerSecond: number;
  deliveriesPerSecond: number;
  expected: number;
  delivered: number;
  duplicates: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  sendP99Ms: number;
  /** CPU time of the server's process per delivery over the step (from its first send to its last delivery). */
  serverCpuUsPerDelivery: number | null;
}

const now = () => performance.now();

/**
 * Connects `socketsPerUser` clients for every user, then for each rate sends messages for `seconds` to random
 * groups from random members (each body carries its send id), and measures how many of the deliveries every
 * member's every client is owed arrive, how late after their send started, and duplicates.
 */
export async function runFanout(
  world: FanoutWorld,
  target: FanoutTarget,
  options: {
    socketsPerUser: number;
    rates: number[];
    seconds: number;
    /** Called once every client is connected and has received a first message in each of its groups. */
    onConnected?: (clients: number) => Promise<void>;
    /** Called once half the clients are connected (the first point of the memory-per-client slope). */
    onHalfConnected?: (clients: number) => Promise<void>;
    /** CPU time the server's process has used so far, in milliseconds. */
    serverCpuMs?: () => Promise<number>;
    /** Runs the slow-client steps after the rates (for targets that can open a slow client). */
    slowClient?: SlowClientOptions;
  },
) {
  const sentAt = new Map<number, number>();
  /** Per send id: which client indexes got it (to count duplicates). */
  const receivedBy = new Map<number, Set<number>>();
  let histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000,
    numberOfSignificantValueDigits: 3,
  });
  let delivered = 0;
  let duplicates = 0;
  let lastDeliveryAt = 0;
  const membership = new Map<string, number>();
  for (const group of world.groups)
    for (const member of group.memberIds) membership.set(member, (membership.get(member) ?? 0) + 1);

  const onMessage = (client: number) => (body: string) => {
    const match = /^fan:(\d+)$/.exec(body);
    if (!match) return;
    const id = Number(match[1]);
    if (id < firstIdOfStep) return; // late for a step already reported
    const started = sentAt.get(id);
    if (started === undefined) return;
    let clients = receivedBy.get(id);
    if (!clients) receivedBy.set(id, (clients = new Set()));
    if (clients.has(client)) {
      duplicates += 1;
      return;
    }
    clients.add(client);
    delivered += 1;
    lastDeliveryAt = now();
    histogram.recordValue(Math.max(1, Math.round(now() - started)));
  };

  let nextId = 0;
  let firstIdOfStep = 0;
  const sendOne = async (user: FanoutWorld['users'][number], groupId: string) => {
    const id = nextId++;
    sentAt.set(id, now());
    await target.send(user, groupId, `fan:${id}`);
  };
  const usersById = new Map(world.users.map((user) => [user.id, user]));

  // Connect every client, a few at a time.
  const clients: { close(): void }[] = [];
  const owners: string[] = [];
  for (const user of world.users)
    for (let copy = 0; copy < options.socketsPerUser; copy += 1) owners.push(user.id);
  const half = Math.floor(owners.length / 100) * 50;
  for (let start = 0; start < owners.length; start += 50) {
    if (start === half) await options.onHalfConnected?.(clients.length);
    const batch = owners.slice(start, start + 50);
    clients.push(
      ...(await Promise.all(
        batch.map((owner, offset) => target.connect(usersById.get(owner)!, onMessage(start + offset))),
      )),
    );
  }

  // A first message in each group, until every client has its groups' ones: every subscription is live.
  const owed = owners.reduce((total, owner) => total + (membership.get(owner) ?? 0), 0);
  const deadline = now() + 60_000;
  for (const group of world.groups) await sendOne(usersById.get(group.memberIds[0]!)!, group.id);
  while (delivered < owed) {
    if (now() > deadline)
      throw new Error(`only ${delivered} of ${owed} first deliveries arrived within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await options.onConnected?.(clients.length);

  /**
   * One step: messages at `rate` for `seconds`, then the drain. `alongside`, when given, starts with the
   * step's sends and is stopped after them (other traffic whose cost the step's clients share).
   */
  async function step(rate: number, alongside?: () => { stop(): Promise<void> }): Promise<FanoutStep> {
    histogram = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 120_000,
      numberOfSignificantValueDigits: 3,
    });
    const sendLatency = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 120_000,
      numberOfSignificantValueDigits: 3,
    });
    delivered = 0;
    duplicates = 0;
    receivedBy.clear();
    firstIdOfStep = nextId;
    let expected = 0;
    const total = rate * options.seconds;
    const cpuBefore = await options.serverCpuMs?.();
    const started = now();
    const other = alongside?.();
    const sends: Promise<void>[] = [];
    for (let index = 0; index < total; index += 1) {
      // Paced: message i leaves at i / rate seconds.
      const wait = started + (index * 1000) / rate - now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const group = world.groups[Math.floor(Math.random() * world.groups.length)]!;
      const sender = usersById.get(group.memberIds[Math.floor(Math.random() * group.memberIds.length)]!)!;
      expected += group.memberIds.length * options.socketsPerUser;
      const sendStarted = now();
      sends.push(
        sendOne(sender, group.id).then(() =>
          sendLatency.recordValue(Math.max(1, Math.round(now() - sendStarted))),
        ),
      );
    }
    await Promise.all(sends);
    await other?.stop();
    // Deliveries still on their way: wait until all arrived or 10 s without progress.
    let last = -1;
    let idleSince = now();
    while (delivered < expected && now() - idleSince < 10_000) {
      if (delivered !== last) {
        last = delivered;
        idleSince = now();
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const cpuAfter = await options.serverCpuMs?.();
    // From the first send to the last delivery: a server that falls behind spreads its deliveries out.
    const elapsed = Math.max(options.seconds, (lastDeliveryAt - started) / 1000);
    const result: FanoutStep = {
      messagesPerSecond: rate,
      offeredDeliveriesPerSecond: expected / options.seconds,
      deliveriesPerSecond: delivered / elapsed,
      expected,
      delivered,
      duplicates,
      p50Ms: histogram.getValueAtPercentile(50),
      p99Ms: histogram.getValueAtPercentile(99),
      maxMs: histogram.maxValue,
      sendP99Ms: sendLatency.getValueAtPercentile(99),
      serverCpuUsPerDelivery:
        cpuBefore === undefined || cpuAfter === undefined || delivered === 0
          ? null
          : ((cpuAfter - cpuBefore) * 1000) / delivered,
    };
    console.log(`fan-out: ${rate} msg/s → ${JSON.stringify(result)}`);
    return result;
  }

  const steps: FanoutStep[] = [];
  let slow: SlowClientSteps | undefined;
  try {
    for (const rate of options.rates) steps.push(await step(rate));
    if (options.slowClient) {
      slow = await slowClientSteps(world, target, options.slowClient, step);
    }
  } finally {
    for (const client of clients) client.close();
    await target.dispose?.();
  }
  return { steps, slow };
}

export interface SlowClientSteps {
  rate: number;
  /** The step with the bulk conversation read at full speed, then with its reader's socket stalled. */
  reading: FanoutStep;
  stalled: FanoutStep;
  /** Of the stalled socket's subscriptions, those told `LAGGING` once it read again. */
  lagged: number;
  subscriptions: number;
  /** The messages it had received when told, at most (each subscription's count before its resync). */
  receivedBeforeLagging: number;
  bulkMessages: number;
}

/**
 * The same step twice, alongside a stream of large messages (`bodyChars`, at `bulkRate`) to one more user
 * whose one socket holds `subscriptions` subscriptions: first read at full speed, then not read at all (its
 * socket paused) for the first `stallSeconds` of the step. The other clients' latency should not tell the two apart; the stalled
 * socket's subscriptions should be told they lagged once it reads again.
 */
async function slowClientSteps(
  world: FanoutWorld,
  target: FanoutTarget,
  options: SlowClientOptions,
  step: (rate: number, alongside?: () => { stop(): Promise<void> }) => Promise<FanoutStep>,
): Promise<SlowClientSteps | undefined> {
  const { connectSlow } = target;
  if (!connectSlow) return undefined;
  const body = 'b'.repeat(options.bodyChars);
  let bulkMessages = 0;
  const { sender, conversationId } = world.slow;
  const bulk = () => {
    let stopped = false;
    const running = (async () => {
      for (let index = 0; !stopped; index += 1) {
        const started = now();
        await target.send(sender, conversationId, `bulk:${index}:${body}`);
        bulkMessages += 1;
        const wait = started + 1000 / options.bulkRate - now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    })();
    return {
      async stop() {
        stopped = true;
        await running;
      },
    };
  };
  const readingClient = await connectSlow(world.slow.reader, options.subscriptions);
  const reading = await step(options.rate, bulk);
  readingClient.close();
  bulkMessages = 0;
  const stalledClient = await connectSlow(world.slow.reader, options.subscriptions);
  // Not read for `stallSeconds`, then read again: a client stalled longer than the keep-alive (12 s) misses
  // its pong and is dropped, which is another way of ending it.
  const stalled = await step(options.rate, () => {
    stalledClient.pause();
    const timer = setTimeout(() => stalledClient.resume(), options.stallSeconds * 1000);
    const sending = bulk();
    return {
      async stop() {
        await sending.stop();
        clearTimeout(timer);
        stalledClient.resume();
      },
    };
  });
  const deadline = now() + 30_000;
  while (stalledClient.lagged().length < options.subscriptions && now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const lagged = stalledClient.lagged();
  stalledClient.close();
  return {
    rate: options.rate,
    reading,
    stalled,
    lagged: lagged.length,
    subscriptions: options.subscriptions,
    receivedBeforeLagging: Math.max(0, ...lagged),
    bulkMessages,
  };
}
