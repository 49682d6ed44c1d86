import { codedError, requireViewer, type Caller } from '@parley/kit';
import {
  getArgumentValues,
  getDirectiveValues,
  getOperationAST,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  print,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RouterContext } from '../context.js';
import type { RealtimeEngine, Selection } from './engine.js';
import type { GatewayExecute } from './hydration.js';
import { selectsPerViewerField } from './per-viewer.js';

/** Set on the context of operations that arrive over graphql-ws (see ws-server.ts). */
export const WEBSOCKET = Symbol('websocket');

export interface RealtimeContext extends RouterContext {
  [WEBSOCKET]?: true;
}

/** The subscription's one root field (fragments and @skip/@include resolved), as graphql-js would pick it. */
function rootField(
  selectionSet: SelectionSetNode,
  fragments: Map<string, SelectionSetNode>,
  variables: Record<string, unknown>,
): FieldNode | null {
  for (const selection of selectionSet.selections) {
    if (getDirectiveValues(GraphQLSkipDirective, selection, variables)?.['if'] === true) continue;
    if (getDirectiveValues(GraphQLIncludeDirective, selection, variables)?.['if'] === false) continue;
    if (selection.kind === 'Field') return selection;
    const nested =
      selection.kind === 'InlineFragment' ? selection.selectionSet : fragments.get(selection.name.value);
    const found = nested ? rootField(nested, fragments, variables) : null;
    if (found) return found;
  }
  return null;
}

/**
 * A subscription that could not start (not a member, a cursor that is not one) as a stream that fails at
 * once: graphql-ws then answers with an `error` message, its code intact, as for a validation error.
 */
function refusal(result: ExecutionResult): AsyncIterableIterator<ExecutionResult> {
  const error = result.errors?.[0] ?? codedError('INTERNAL_SERVER_ERROR', 'Subscription refused');
  return {
    next: () => Promise.reject(error),
    return: () => Promise.resolve({ done: true, value: undefined }),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** Documents already checked for per-viewer fields (yoga hands the same DocumentNode for the same text). */
const perViewerDocuments = new WeakMap<DocumentNode, boolean>();

/**
 * Subscriptions are resolved here, not by the gateway: `events` and `conversationEvents` open a stream on
 * the realtime engine. Only over graphql-ws, where the socket's lifetime follows the access token.
 */
export function useRealtime(options: {
  engine: RealtimeEngine;
  apiSchema: GraphQLSchema;
  perViewer: ReadonlySet<string>;
  gateway: (context: RouterContext) => GatewayExecute;
}): Plugin<RealtimeContext> {
  async function subscribe(
    args: ExecutionArgs,
  ): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const context = args.contextValue as RealtimeContext;
    if (!context[WEBSOCKET]) {
      return {
        errors: [
          codedError('BAD_REQUEST', 'Subscriptions are served over graphql-ws (WebSocket) at /graphql'),
        ],
      };
    }
    const viewer = requireViewer(context);
    const operation = getOperationAST(args.document, args.operationName);
    const subscriptionType = options.apiSchema.getSubscriptionType();
    if (!operation || !subscriptionType) {
      return { errors: [codedError('BAD_REQUEST', 'Unknown operation name')] };
    }
    const fragments = new Map<string, SelectionSetNode>();
    for (const definition of args.document.definitions) {
      if (definition.kind === 'FragmentDefinition')
        fragments.set(definition.name.value, definition.selectionSet);
    }
    const variables = (args.variableValues ?? {}) as Record<string, unknown>;
    const field = rootField(operation.selectionSet, fragments, variables);
    const definition = field && subscriptionType.getFields()[field.name.value];
    if (!field || !definition)
      return { errors: [codedError('BAD_REQUEST', 'No subscription field selected')] };
    const fieldArgs = getArgumentValues(definition, field, variables) as {
      after?: string | null;
      conversationId?: string;
    };

    let perViewer = perViewerDocuments.get(args.document);
    if (perViewer === undefined) {
      perViewer = selectsPerViewerField(options.apiSchema, args.document, options.perViewer);
      perViewerDocuments.set(args.document, perViewer);
    }
    const selection: Selection = {
      document: args.document,
      operationName: args.operationName ?? undefined,
      variableValues: variables,
      responseKey: field.alias?.value ?? field.name.value,
      perViewer,
      key: JSON.stringify([
        print(args.document),
        args.operationName ?? null,
        variablesBelow(field, variables),
      ]),
    };
    const authorization = context.subgraphHeaders['authorization'];
    const caller: Caller = { authorization: authorization ?? '', requestId: context.requestId };
    const stream = await options.engine.subscribe({
      userId: viewer.userId,
      conversationId:
        field.name.value === 'conversationEvents' ? (fieldArgs.conversationId ?? '').toLowerCase() : null,
      after: fieldArgs.after ?? null,
      selection,
      gateway: options.gateway(context),
      caller,
    });
    return Symbol.asyncIterator in stream ? stream : refusal(stream);
  }

  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribe as never);
    },
  };
}

/**
 * The variables the root field's selection uses: two subscribers whose `after` (or conversation) differ
 * still share results, as long as what they select is the same.
 */
function variablesBelow(field: FieldNode, variables: Record<string, unknown>): Record<string, unknown> {
  const used: Record<string, unknown> = {};
  const text = field.selectionSet ? print(field.selectionSet) : '';
  for (const [name, value] of Object.entries(variables)) {
    if (new RegExp(`\\$${name}\\b`).test(text)) used[name] = value;
  }
  return used;
}
