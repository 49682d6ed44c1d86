/**
 * The membership projection (who belongs to each conversation), the conversations service's contract with
 * every service that checks membership: conversations writes it, the others read it and ask conversations to
 * repair an entry they find missing. A package of its own, not a part of the conversations package, because
 * services the conversations package depends on (messages, for its events) read it too.
 */
export * from './membership.js';
export * from './repair.js';
export * from './shared.js';
