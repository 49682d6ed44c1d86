import type { CodegenConfig } from '@graphql-codegen/cli';
import { addTypenameSelectionDocumentTransform } from '@graphql-codegen/client-preset';

/**
 * `npm run codegen` (run by `generate`, so by build, typecheck and test): typed resolvers for each
 * subgraph from its own SDL, in federation mode (`__resolveReference`, entity types), and typed documents
 * plus a SHA-256 persisted-documents manifest for the web app from the composed client-facing schema, and
 * typed documents for the test suite from the same schema.
 * Output is gitignored; only the contracts it is made from are committed.
 */
const subgraphResolvers = (
  name: string,
  contextType: string,
  mappers: Record<string, string>,
): CodegenConfig['generates'] => ({
  [`subgraphs/${name}/src/generated/resolvers-types.ts`]: {
    schema: `subgraphs/${name}/src/schema.graphql`,
    plugins: ['typescript', 'typescript-resolvers'],
    config: {
      federation: true,
      useTypeImports: true,
      enumsAsTypes: true,
      useIndexSignature: true,
      contextType,
      // What resolvers really receive as parents (store rows), not the schema's shapes.
      mappers,
      scalars: { DateTime: 'Date | string', JSON: 'unknown' },
    },
  },
});

const config: CodegenConfig = {
  overwrite: true,
  ignoreNoDocuments: true,
  generates: {
    ...subgraphResolvers('users', '../context.js#UsersContext', {
      User: '../data/user-store.js#User as UserRow',
      Session: '../data/session-store.js#Session as SessionRow',
      Device: '../data/device-store.js#Device as DeviceRow',
      Viewer: '../resolvers/viewer.js#ViewerParent',
      AuthPayload: '../auth/auth-service.js#SignedIn',
    }),
    ...subgraphResolvers('conversations', '../context.js#ConversationsContext', {
      Conversation: '../data/conversation-store.js#ConversationView',
      ConversationMember: '../data/conversation-store.js#Member',
      Viewer: '../resolvers/viewer.js#ViewerParent',
      User: '../resolvers/viewer.js#EntityReference',
      Message: '../resolvers/message.js#MessageParent',
    }),
    ...subgraphResolvers('messages', '../context.js#MessagesContext', {
      Message: '../data/message-store.js#MessageRecord',
      ReactionGroup: '../data/message-store.js#ReactionGroup as ReactionGroupRow',
      Conversation: '../resolvers/conversation.js#EntityReference',
      User: '../resolvers/conversation.js#EntityReference',
      File: '../resolvers/conversation.js#EntityReference',
    }),
    ...subgraphResolvers('presence', '../context.js#PresenceContext', {
      User: '../resolvers/user.js#EntityReference',
      Viewer: '../resolvers/user.js#EntityReference',
      Conversation: '../resolvers/user.js#EntityReference',
      Presence: '../presence-service.js#Presence as PresenceValue',
    }),
    ...subgraphResolvers('files', '../context.js#FilesContext', {
      File: '../files-service.js#FileView',
      UploadTicket: '../files-service.js#UploadTicket as UploadTicketValue',
      User: '../resolvers/user.js#UserReference',
    }),
    'web/src/generated/': {
      schema: 'schema/api.graphql',
      documents: ['web/src/**/*.{ts,tsx}', '!web/src/generated/**'],
      preset: 'client',
      // The router runs the manifest's text, so the `__typename`s graphcache needs to normalize results
      // must be in it, not only added by the client.
      documentTransforms: [addTypenameSelectionDocumentTransform],
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { hashAlgorithm: 'sha256' },
      },
      config: { useTypeImports: true, enumsAsTypes: true, scalars: { DateTime: 'string', JSON: 'unknown' } },
    },
    // The test suite's documents, typed from the schema the router serves: each `graphql(...)` call returns a
    // `TypedDocumentString`, a String carrying its result and variable types, so the test kit's clients send
    // it as the document text (as they send plain strings) and infer what it answers. Only those calls are
    // read: a document a test sends to be refused (invalid on purpose, or asking for fields only a service
    // serves, not the router) stays a plain string, which codegen would otherwise reject.
    'test/generated/': {
      schema: 'schema/api.graphql',
      documents: ['test/**/*.ts', '!test/generated/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        documentMode: 'string',
        // The root project resolves imports as Node does (NodeNext), which needs the extension.
        importExtension: '.js',
        useTypeImports: true,
        enumsAsTypes: true,
        // Types hold exactly what a document selects: tests compare whole results, and an event's
        // `__typename` is there only where they ask for it.
        skipTypename: true,
        scalars: { DateTime: 'string', JSON: 'unknown' },
      },
    },
  },
};

export default config;
