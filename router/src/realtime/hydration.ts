import {
  buildASTSchema,
  execute,
  GraphQLError,
  isInterfaceType,
  Kind,
  parse,
  printSchema,
  visit,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLFieldResolver,
  type GraphQLResolveInfo,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
  type VariableDefinitionNode,
} from 'graphql';
import { isEntityRef, type EntityRef, type EventValue } from './event-types.js';

/** Runs a query through the gateway for one subscriber (their token, their rights). */
export type GatewayExecute = (request: {
  document: DocumentNode;
  variables: Record<string, unknown>;
}) => Promise<ExecutionResult>;

/** The query field that reads each kind of entity an event refers to. */
const ROOT_FIELDS: Record<EntityRef['entity'], string> = {
  Message: 'message',
  Conversation: 'conversation',
  User: 'user',
};

/** Every implementation of RealtimeEvent resolves its fields from the event; references through `hydrate`. */
const resolveEventField: GraphQLFieldResolver<EventValue, HydrationContext> = (
  event,
  _args,
  context,
  info,
) => {
  const value = event[info.fieldName];
  return isEntityRef(value) ? context.hydrate(value, info) : value;
};

/**
 * Hydrated objects come back shaped by the subscriber's own selection, keyed by response name (aliases
 * included), so every field below an event is read by its response key.
 */
const byResponseKey: GraphQLFieldResolver<Record<string, unknown>, unknown> = (
  source,
  _args,
  _context,
  info,
) => source[info.path.key as string];

/**
 * A copy of the API schema that executes subscription results: events are interface values typed by
 * `__typename`, their references are filled in through the gateway.
 */
export function createHydrationSchema(apiSchema: GraphQLSchema): GraphQLSchema {
  const schema = buildASTSchema(parse(printSchema(apiSchema)), { assumeValidSDL: true });
  const eventInterface = schema.getType('RealtimeEvent');
  if (!isInterfaceType(eventInterface)) throw new Error('The supergraph has no RealtimeEvent interface');
  eventInterface.resolveType = (value) => (value as EventValue).__typename;
  for (const type of schema.getImplementations(eventInterface).objects) {
    for (const field of Object.values(type.getFields())) field.resolve = resolveEventField as never;
  }
  return schema;
}

interface HydrationContext {
  hydrate(ref: EntityRef, info: GraphQLResolveInfo): Promise<unknown>;
}

interface Pending {
  ref: EntityRef;
  info: GraphQLResolveInfo;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** The fragments and variables a selection uses, transitively through fragment spreads. */
export function usedBy(
  selections: readonly SelectionNode[],
  fragments: Record<string, FragmentDefinitionNode>,
) {
  const fragmentNames = new Set<string>();
  const variableNames = new Set<string>();
  const queue: readonly SelectionNode[][] = [[...selections]];
  while (queue.length > 0) {
    const next = (queue as SelectionNode[][]).pop()!;
    for (const selection of next) {
      visit(selection, {
        Variable: (node) => void variableNames.add(node.name.value),
        FragmentSpread(node) {
          const name = node.name.value;
          const fragment = fragments[name];
          if (fragmentNames.has(name) || !fragment) return;
          fragmentNames.add(name);
          (queue as SelectionNode[][]).push([...fragment.selectionSet.selections]);
        },
      });
    }
  }
  return { fragmentNames, variableNames };
}

/** A name no variable of the operation uses, for the ids the hydration query adds. */
function freeName(operation: OperationDefinitionNode, base: string): string {
  const taken = new Set(operation.variableDefinitions?.map((definition) => definition.variable.name.value));
  let name = base;
  while (taken.has(name)) name = `_${name}`;
  return name;
}

/** A hydration query's document, and the names of the variables each call fills in. */
interface HydrationQuery {
  document: DocumentNode;
  /** `$_id<n>` for the n-th reference. */
  idVariables: string[];
  /** The subscriber's own variables the selections use. */
  clientVariables: string[];
}

/** Ids for AST nodes, to key documents by the selections they were built from. */
const nodeIds = new WeakMap<object, number>();
let nextNodeId = 0;
const nodeId = (node: object) => {
  let id = nodeIds.get(node);
  if (id === undefined) nodeIds.set(node, (id = nextNodeId++));
  return id;
};

/**
 * The queries built per subscriber operation, by the references and selections they ask for: every event of
 * one kind for one selection asks the same query (only the ids differ), so the gateway gets the same
 * document object each time and its printed text and plan are looked up, not worked out again.
 */
const built = new WeakMap<OperationDefinitionNode, Map<string, HydrationQuery>>();
const MAX_QUERIES_PER_OPERATION = 64;

/**
 * One query for every reference of one event the selection reaches: `_e0: message(id: $_id0) { ... }`,
 * with the subscriber's own fragments and the variables they use.
 */
function hydrationDocument(batch: readonly Pending[]): {
  document: DocumentNode;
  variables: Record<string, unknown>;
} {
  const { operation, variableValues } = batch[0]!.info;
  const key = batch
    .map(({ ref, info }) => `${ref.entity}:${info.fieldNodes.map(nodeId).join(',')}`)
    .join(';');
  let queries = built.get(operation);
  if (!queries) built.set(operation, (queries = new Map()));
  let query = queries.get(key);
  if (!query) {
    query = buildHydrationQuery(batch);
    if (queries.size >= MAX_QUERIES_PER_OPERATION) queries.clear();
    queries.set(key, query);
  }
  const variables: Record<string, unknown> = {};
  query.idVariables.forEach((name, index) => (variables[name] = batch[index]!.ref.id));
  for (const name of query.clientVariables) {
    if (name in variableValues) variables[name] = variableValues[name];
  }
  return { document: query.document, variables };
}

function buildHydrationQuery(batch: readonly Pending[]): HydrationQuery {
  const { operation, fragments } = batch[0]!.info;
  const fields: FieldNode[] = [];
  const idVariables: string[] = [];
  const ownDefinitions: VariableDefinitionNode[] = [];
  const fragmentNames = new Set<string>();
  const variableNames = new Set<string>();
  batch.forEach(({ ref, info }, index) => {
    const idVariable = freeName(operation, `_id${index}`);
    idVariables.push(idVariable);
    ownDefinitions.push({
      kind: Kind.VARIABLE_DEFINITION,
      variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: idVariable } },
      type: {
        kind: Kind.NON_NULL_TYPE,
        type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'ID' } },
      },
    });
    const selections = info.fieldNodes.flatMap((node) => node.selectionSet?.selections ?? []);
    const used = usedBy(selections, fragments);
    used.fragmentNames.forEach((name) => fragmentNames.add(name));
    used.variableNames.forEach((name) => variableNames.add(name));
    fields.push({
      kind: Kind.FIELD,
      alias: { kind: Kind.NAME, value: `_e${index}` },
      name: { kind: Kind.NAME, value: ROOT_FIELDS[ref.entity] },
      arguments: [
        {
          kind: Kind.ARGUMENT,
          name: { kind: Kind.NAME, value: 'id' },
          value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: idVariable } },
        },
      ],
      selectionSet: { kind: Kind.SELECTION_SET, selections },
    });
  });
  const clientDefinitions = (operation.variableDefinitions ?? []).filter((definition) =>
    variableNames.has(definition.variable.name.value),
  );
  const document: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [
      {
        kind: Kind.OPERATION_DEFINITION,
        operation: 'query' as never,
        name: { kind: Kind.NAME, value: 'RealtimeHydration' },
        variableDefinitions: [...ownDefinitions, ...clientDefinitions],
        selectionSet: { kind: Kind.SELECTION_SET, selections: fields },
      },
      ...[...fragmentNames].map((name) => fragments[name]!),
    ],
  };
  return {
    document,
    idVariables,
    clientVariables: clientDefinitions.map((definition) => definition.variable.name.value),
  };
}

/**
 * A gateway error moved from the hydration query's path to where the subscriber sees the field; without
 * `at`, graphql-js places it on the field whose resolver throws it.
 */
function relocate(error: GraphQLError, at?: readonly (string | number)[]) {
  const [, ...below] = error.path ?? [];
  return new GraphQLError(error.message, {
    path: at ? [...at, ...below] : undefined,
    extensions: error.extensions,
  });
}

const pathOf = (info: GraphQLResolveInfo) => {
  const path: (string | number)[] = [];
  for (let node: GraphQLResolveInfo['path'] | undefined = info.path; node; node = node.prev)
    path.unshift(node.key);
  return path;
};

/**
 * Executes one event for one selection: the subscriber's selection set over the event, with every
 * reference it reaches filled in by a single gateway query (none when it selects no reference).
 * `onHydrate` is told each time the gateway is called.
 */
export async function executeEvent(options: {
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName: string | undefined;
  variableValues: Record<string, unknown>;
  responseKey: string;
  event: EventValue;
  gateway: GatewayExecute;
  onHydrate(): void;
}): Promise<ExecutionResult> {
  let batch: Pending[] | null = null;
  const relocatedErrors: GraphQLError[] = [];

  async function flush(pending: Pending[]) {
    options.onHydrate();
    try {
      const { document, variables } = hydrationDocument(pending);
      const result = await options.gateway({ document, variables });
      // The root fields are non-null (`user(id): User!`): one reference the viewer may not see (a user who
      // blocked them) nulls the whole response (or every field of it, as the gateway merges a subgraph's null),
      // and with it the references they may see. Then each is asked alone.
      const placed = result.errors?.some((error) => typeof error.path?.[0] === 'string') ?? false;
      if (placed && pending.length > 1) {
        await Promise.all(pending.map((one) => flush([one])));
        return;
      }
      // Errors without a path (the caller's token refused, a subgraph down) concern every reference.
      const unplaced = (result.errors ?? []).filter((error) => typeof error.path?.[0] !== 'string');
      pending.forEach(({ info, resolve, reject }, index) => {
        const key = `_e${index}`;
        const errors = (result.errors ?? []).filter((error) => error.path?.[0] === key);
        const data = (result.data as Record<string, unknown> | null | undefined)?.[key] ?? null;
        const failure = errors[0] ?? unplaced[0];
        if (data === null && failure) return reject(relocate(failure));
        relocatedErrors.push(...errors.map((error) => relocate(error, pathOf(info))));
        resolve(data);
      });
      if (result.data) relocatedErrors.push(...unplaced.map((error) => relocate(error)));
    } catch (error) {
      for (const { reject } of pending) reject(error);
    }
  }

  const context: HydrationContext = {
    hydrate(ref, info) {
      return new Promise((resolve, reject) => {
        if (!batch) {
          const pending: Pending[] = [];
          batch = pending;
          // Every reference of the event is asked for in the same synchronous pass over its fields.
          queueMicrotask(() => {
            batch = null;
            void flush(pending);
          });
        }
        batch.push({ ref, info, resolve, reject });
      });
    },
  };

  const result = await execute({
    schema: options.schema,
    document: options.document,
    operationName: options.operationName,
    variableValues: options.variableValues,
    rootValue: { [options.responseKey]: options.event },
    contextValue: context,
    fieldResolver: byResponseKey as GraphQLFieldResolver<unknown, unknown>,
  });
  if (relocatedErrors.length === 0) return result;
  return { ...result, errors: [...(result.errors ?? []), ...relocatedErrors] };
}
