import { z } from 'zod';

/**
 * A kind of domain event: its name and the schema of its payload, declared once, by the service that
 * publishes it (in its `events.ts`, exported as `@parley/<service>/events`), and imported by every consumer.
 * The bus, the event streams and the realtime log take topics, not names: a consumer cannot follow a topic
 * that does not exist, and reads the payload its producer declared, checked on arrival.
 */
export interface Topic<Name extends string = string, Schema extends z.ZodType = z.ZodType> {
  readonly name: Name;
  readonly payload: Schema;
}

/** What a consumer of `T` receives: the payload as its schema reads it. */
export type PayloadOf<T extends Topic> = z.output<T['payload']>;
/** What a producer of `T` writes. */
export type PayloadInputOf<T extends Topic> = z.input<T['payload']>;

export const defineTopic = <const Name extends string, Schema extends z.ZodType>(
  name: Name,
  payload: Schema,
): Topic<Name, Schema> => ({ name, payload });

/** A payload that does not match its topic's schema: a producer and a consumer disagree (a deploy in between). */
export class InvalidPayloadError extends Error {
  constructor(
    readonly topic: string,
    readonly issues: string,
  ) {
    super(`A ${topic} event does not match its schema: ${issues}`);
    this.name = 'InvalidPayloadError';
  }
}

/** The payload as `topic`'s schema reads it, or InvalidPayloadError. */
export function readPayload<T extends Topic>(topic: T, payload: unknown): PayloadOf<T> {
  const parsed = topic.payload.safeParse(payload);
  if (!parsed.success) throw new InvalidPayloadError(topic.name, z.prettifyError(parsed.error));
  return parsed.data as PayloadOf<T>;
}

/**
 * The topics of a service by name, to find the topic of a name stored earlier (an outbox row keeps the name):
 * an unknown name is an error, never an event published unchecked.
 */
export function topicRegistry<const Topics extends Record<string, Topic>>(topics: Topics) {
  const byName = new Map<string, Topics[keyof Topics]>(
    Object.values(topics).map((topic) => [topic.name, topic as Topics[keyof Topics]]),
  );
  return (name: string): Topics[keyof Topics] => {
    const topic = byName.get(name);
    if (!topic) throw new Error(`Unknown topic ${name}`);
    return topic;
  };
}

/** A topic whose payload any consumer takes as it is (tests of the transports, infrastructure channels). */
export const untypedTopic = <const Name extends string>(name: Name) => defineTopic(name, z.unknown());
