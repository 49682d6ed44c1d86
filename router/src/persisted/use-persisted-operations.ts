import { codedError, type ErrorCode } from '@parley/kit';
import type { Plugin } from 'graphql-yoga';
import { clientNameOf } from '../context.js';
import type { ApqStore } from './apq-store.js';
import { sha256Hex } from './manifest.js';
import type { PersistedDocuments } from './persisted-documents.js';

export interface PersistedOperationsOptions {
  documents: PersistedDocuments;
  apq: ApqStore;
  /** Production: each client runs only its registered documents; no APQ registration, no free text. */
  persistedOnly: boolean;
}

interface ApqExtension {
  version: 1;
  sha256Hash: string;
}

function apqExtension(extensions: unknown): ApqExtension | null {
  const persistedQuery = (extensions as { persistedQuery?: unknown } | null | undefined)?.persistedQuery;
  if (typeof persistedQuery !== 'object' || persistedQuery === null) return null;
  const { version, sha256Hash } = persistedQuery as Record<string, unknown>;
  return version === 1 && typeof sha256Hash === 'string' ? { version, sha256Hash } : null;
}

// Apollo clients look for these messages to know when to send the query text.
const MESSAGES: Partial<Record<ErrorCode, string>> = {
  PERSISTED_QUERY_NOT_FOUND: 'PersistedQueryNotFound',
  PERSISTED_QUERY_MISMATCH: 'PersistedQueryMismatch',
};
const refuse = (code: ErrorCode, message = MESSAGES[code] ?? code) => codedError(code, message);

/**
 * Requests running a document from a client's manifest. Those documents were checked when registered
 * (reviewed with the client that ships them), so the cost limit, there to stop ad-hoc queries, lets them
 * through: a chat client's real screens (a page of conversations with their last messages and members'
 * presence) cost far more in graphql-armor's model, which multiplies by page sizes and by 1.5 per level,
 * than any sensible limit for queries nobody reviewed. Depth, alias and token limits still apply.
 */
const trustedRequests = new WeakSet<Request>();
export const markTrusted = (request: Request) => void trustedRequests.add(request);
export const isTrusted = (request: Request | undefined) =>
  request !== undefined && trustedRequests.has(request);

/** The query to run, and whether it is a registered (trusted) document. */
export interface ResolvedQuery {
  query: string;
  registered: boolean;
}

/**
 * Resolves how an operation was sent to the query text to run, all three ways a client can send one:
 * - APQ (Apollo): `extensions.persistedQuery.sha256Hash`, with or without the query text;
 * - trusted documents from manifests, by `documentId` (GraphQL over HTTP; `sha256:<hex>` or a manifest id);
 * - in persisted-only mode, only the calling client's registered documents run, whichever way they come.
 * Returns the query to run (undefined: leave what was sent, e.g. no query or one that is not a string, for
 * the server to refuse) and whether it is registered, or throws the coded error the client gets.
 */
export function createPersistedOperationResolver(options: PersistedOperationsOptions) {
  const { documents, apq, persistedOnly } = options;

  async function registered(client: string | null, id: string): Promise<string | null> {
    if (!client) return null;
    const bare = /^sha256:[0-9a-f]{64}$/i.test(id) ? id.slice('sha256:'.length).toLowerCase() : id;
    return (await documents.find(client, id)) ?? (bare === id ? null : documents.find(client, bare));
  }

  return async function resolveQuery(request: {
    query: unknown;
    documentId: unknown;
    extensions: unknown;
    client: string | null;
  }): Promise<ResolvedQuery | undefined> {
    const { query, documentId, client } = request;
    const persisted = apqExtension(request.extensions);

    if (documentId !== undefined && documentId !== null) {
      if (typeof documentId !== 'string' || documentId.length > 200) {
        throw refuse('BAD_REQUEST', '`documentId` must be a string of at most 200 characters');
      }
      if (query !== undefined && query !== null && query !== '') {
        throw refuse('BAD_REQUEST', 'Send either `query` or `documentId`, not both');
      }
      const body = await registered(client, documentId);
      if (body === null) throw refuse('PERSISTED_QUERY_NOT_FOUND');
      return { query: body, registered: true };
    }

    if (typeof query === 'string' && query !== '') {
      const hash = persisted || persistedOnly ? sha256Hex(query) : null;
      if (persisted && persisted.sha256Hash.toLowerCase() !== hash) throw refuse('PERSISTED_QUERY_MISMATCH');
      if (persistedOnly) {
        if ((await registered(client, hash!)) === null) {
          throw refuse(
            'PERSISTED_QUERY_NOT_IN_LIST',
            client
              ? `Only operations registered for client "${client}" may run here`
              : 'Only registered operations may run here; send the graphql-client-name header',
          );
        }
        return { query, registered: true };
      }
      if (persisted) await apq.set(hash!, query);
      return { query, registered: false };
    }

    if (persisted) {
      const hash = persisted.sha256Hash.toLowerCase();
      const body = await registered(client, hash);
      if (body !== null) return { query: body, registered: true };
      const stored = persistedOnly ? null : await apq.get(hash);
      if (stored === null) throw refuse('PERSISTED_QUERY_NOT_FOUND');
      return { query: stored, registered: false };
    }
    if (persistedOnly)
      throw refuse('PERSISTED_QUERY_NOT_IN_LIST', 'Send a registered `documentId` or APQ hash');
    return undefined;
  };
}

/** Persisted operations over HTTP (see createPersistedOperationResolver). */
export function usePersistedOperations(options: PersistedOperationsOptions): Plugin {
  const resolveQuery = createPersistedOperationResolver(options);
  return {
    async onParams({ params, request, setParams }) {
      const {
        query,
        documentId: bodyDocumentId,
        ...rest
      } = params as typeof params & { documentId?: unknown };
      // yoga reads only query, operationName, variables and extensions from a GET's search parameters.
      const documentId =
        request.method === 'GET' ? new URL(request.url).searchParams.get('documentId') : bodyDocumentId;
      const resolved = await resolveQuery({
        query,
        documentId,
        extensions: params.extensions,
        client: clientNameOf(request.headers),
      });
      if (resolved?.registered) markTrusted(request);
      if (resolved !== undefined && resolved.query !== query) setParams({ ...rest, query: resolved.query });
    },
  };
}
