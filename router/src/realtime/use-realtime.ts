import { codedError, requireViewer, type Caller } from '@parley/kit';
import {
  getArgumentValues,
  getVariableValues,
  GraphQLError,
  getDirectiveValues,
  getOperationAST,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  print,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { RouterContext } from '../context.js';
import type { RealtimeEngine, Selection } from './engine.js';
import { usedBy, type GatewayExecute } from './hydration.js';
import type { SocketChannel } from './outlet.js';
import { isShareableSelection } from './per-viewer.js';

/**
 * Set on the context of operations that arrive over graphql-ws (see ws-server.ts): the socket's channel and
 * the operation's id, which a subscription's results are written to.
 */
export const WEBSOCKET = Symbol('websocket');

export interface RealtimeContext extends RouterContext {
  [WEBSOCKET]?: { channel: SocketChannel; id: string };
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

/** What a document's subscriptions share, worked out once (yoga hands the same DocumentNode for the same text). */
const documentFacts = new WeakMap<DocumentNode, { perViewer: boolean; printed: string }>();

/**
 * Subscriptions are resolved here, not by the gateway: `events` and `conversationEvents` open a stream on
 * the realtime engine. Only over graphql-ws, where the socket's lifetime follows the access token.
 */
export function useRealtime(options: {
  engine: RealtimeEngine;
  apiSchema: GraphQLSchema;
  /** Fields whose values may be shared between viewers (see per-viewer.ts). */
  viewerIndependent: ReadonlySet<string>;
  gateway: (context: RouterContext) => GatewayExecute;
}): Plugin<RealtimeContext> {
  async function open(
    args: ExecutionArgs,
    context: RealtimeContext,
    socket: { channel: SocketChannel; id: string },
  ): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const viewer = requireViewer(context);
    const operation = getOperationAST(args.document, args.operationName);
    const subscriptionType = options.apiSchema.getSubscriptionType();
    if (!operation || !subscriptionType) {
      return { errors: [codedError('BAD_REQUEST', 'Unknown operation name')] };
    }
    const raw = (args.variableValues ?? {}) as Record<string, unknown>;
    const coerced = getVariableValues(options.apiSchema, operation.variableDefinitions ?? [], raw);
    if (coerced.errors) {
      return { errors: coerced.errors.map((error) => codedError('BAD_USER_INPUT', error.message)) };
    }
    const variables = coerced.coerced;
    const fragments = new Map<string, SelectionSetNode>();
    const fragmentDefinitions: Record<string, FragmentDefinitionNode> = {};
    for (const definition of args.document.definitions) {
      if (definition.kind !== 'FragmentDefinition') continue;
      fragments.set(definition.name.value, definition.selectionSet);
      fragmentDefinitions[definition.name.value] = definition;
    }
    const field = rootField(operation.selectionSet, fragments, variables);
    const definition = field && subscriptionType.getFields()[field.name.value];
    if (!field || !definition) {
      return { errors: [codedError('BAD_REQUEST', 'No subscription field selected')] };
    }
    const fieldArgs = getArgumentValues(definition, field, variables) as {
      after?: string | null;
      conversationId?: string;
      presence?: boolean;
    };

    let facts = documentFacts.get(args.document);
    if (!facts) {
      facts = {
        perViewer: !isShareableSelection(options.apiSchema, args.document, options.viewerIndependent),
        printed: print(args.document),
      };
      documentFacts.set(args.document, facts);
    }
    // Two subscribers whose `after` (or conversation) differ still share results when what they select is the
    // same: only the variables the selection itself uses (its fragments included) tell selections apart.
    const { variableNames } = usedBy(field.selectionSet?.selections ?? [], fragmentDefinitions);
    const selectionVariables = [...variableNames].sort().map((name) => [name, variables[name] ?? null]);
    const selection: Selection = {
      document: args.document,
      operationName: args.operationName ?? undefined,
      variableValues: raw,
      responseKey: field.alias?.value ?? field.name.value,
      perViewer: facts.perViewer,
      key: JSON.stringify([facts.printed, args.operationName ?? null, selectionVariables]),
    };
    const authorization = context.subgraphHeaders['authorization'];
    const caller: Caller = { authorization: authorization ?? '', requestId: context.requestId };
    return options.engine.subscribe({
      userId: viewer.userId,
      conversationId:
        field.name.value === 'conversationEvents' ? (fieldArgs.conversationId ?? '').toLowerCase() : null,
      after: fieldArgs.after ?? null,
      presence: fieldArgs.presence === true,
      selection,
      gateway: options.gateway(context),
      caller,
      channel: socket.channel,
      id: socket.id,
    });
  }

  /** Every way a subscription can fail to start is an `error` message with a code, never a closed socket. */
  async function subscribe(
    args: ExecutionArgs,
  ): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const context = args.contextValue as RealtimeContext;
    const socket = context[WEBSOCKET];
    if (!socket) {
      return {
        errors: [
          codedError('BAD_REQUEST', 'Subscriptions are served over graphql-ws (WebSocket) at /graphql'),
        ],
      };
    }
    try {
      const stream = await open(args, context, socket);
      return Symbol.asyncIterator in stream ? stream : refusal(stream);
    } catch (error) {
      if (error instanceof GraphQLError) return refusal({ errors: [error] });
      context.logger.error({ err: error }, 'subscription could not start');
      return refusal({
        errors: [codedError('SERVICE_UNAVAILABLE', 'Subscriptions are unavailable; retry later')],
      });
    }
  }

  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(subscribe as never);
    },
  };
}
