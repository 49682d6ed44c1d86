import {
  getNamedType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  Kind,
  parse,
  type GraphQLSchema,
} from 'graphql';

/** The interface every subscription result implements: what it reaches is hydrated for subscribers. */
export const REALTIME_EVENT = 'RealtimeEvent';

/** The two declarations a field reachable from a realtime event must carry exactly one of. */
export const PER_VIEWER = 'perViewer';
export const VIEWER_INDEPENDENT = 'viewerIndependent';

/**
 * Every `Type.field` a realtime event can reach in the API schema: through the event interface's
 * implementations, every field's type, interfaces' implementations and unions' members, at any depth.
 */
export function fieldsReachableFromEvents(apiSchema: GraphQLSchema): string[] {
  const fields: string[] = [];
  const seen = new Set<string>();
  const queue = [REALTIME_EVENT];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    const type = apiSchema.getType(name);
    if (isInterfaceType(type)) queue.push(...apiSchema.getPossibleTypes(type).map(({ name }) => name));
    if (isUnionType(type)) queue.push(...type.getTypes().map(({ name }) => name));
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      fields.push(`${name}.${field.name}`);
      queue.push(getNamedType(field.type).name);
    }
  }
  return fields.sort();
}

/** The fields of a (super)graph SDL carrying each declaration, as `Type.field`. */
export function viewerDeclarations(
  sdl: string,
): Record<typeof PER_VIEWER | typeof VIEWER_INDEPENDENT, Set<string>> {
  const declared = { [PER_VIEWER]: new Set<string>(), [VIEWER_INDEPENDENT]: new Set<string>() };
  for (const definition of parse(sdl).definitions) {
    if (
      definition.kind !== Kind.OBJECT_TYPE_DEFINITION &&
      definition.kind !== Kind.INTERFACE_TYPE_DEFINITION &&
      definition.kind !== Kind.OBJECT_TYPE_EXTENSION &&
      definition.kind !== Kind.INTERFACE_TYPE_EXTENSION
    )
      continue;
    for (const field of definition.fields ?? []) {
      for (const directive of field.directives ?? []) {
        const name = directive.name.value;
        if (name === PER_VIEWER || name === VIEWER_INDEPENDENT) {
          declared[name].add(`${definition.name.value}.${field.name.value}`);
        }
      }
    }
  }
  return declared;
}

/**
 * What is wrong with the declarations of the fields realtime events reach: each must be declared either
 * `@perViewer` or `@viewerIndependent` in its subgraph, never neither (the router could not know whether a
 * result may be shared between viewers) and never both.
 */
export function viewerDeclarationProblems(supergraphSdl: string, apiSchema: GraphQLSchema): string[] {
  const declared = viewerDeclarations(supergraphSdl);
  const problems: string[] = [];
  for (const field of fieldsReachableFromEvents(apiSchema)) {
    const perViewer = declared[PER_VIEWER].has(field);
    const independent = declared[VIEWER_INDEPENDENT].has(field);
    if (!perViewer && !independent) {
      problems.push(
        `"${field}" is reachable from ${REALTIME_EVENT} but declared neither @${PER_VIEWER} nor @${VIEWER_INDEPENDENT}: declare in its subgraph whether its value depends on who asks`,
      );
    } else if (perViewer && independent) {
      problems.push(`"${field}" is declared both @${PER_VIEWER} and @${VIEWER_INDEPENDENT}`);
    }
  }
  return problems;
}
