import {
  getNamedType,
  isInterfaceType,
  parse,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';

/**
 * Fields marked `@perViewer` in their subgraph (a composed directive, kept in the supergraph), as
 * `Type.field`: their value depends on who asks, so a result that selects one is never shared.
 */
export function perViewerFields(supergraphSdl: string): ReadonlySet<string> {
  const fields = new Set<string>();
  for (const definition of parse(supergraphSdl).definitions) {
    if (!('fields' in definition) || !definition.fields || !('name' in definition)) continue;
    for (const field of definition.fields) {
      if (field.directives?.some((directive) => directive.name.value === 'perViewer')) {
        fields.add(`${definition.name.value}.${field.name.value}`);
      }
    }
  }
  return fields;
}

/** Whether any selection of the document (its fragments included) reaches a per-viewer field. */
export function selectsPerViewerField(
  schema: GraphQLSchema,
  document: DocumentNode,
  perViewer: ReadonlySet<string>,
): boolean {
  const typeInfo = new TypeInfo(schema);
  let found = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        if (parent && perViewer.has(`${getNamedType(parent).name}.${node.name.value}`)) found = true;
      },
    }),
  );
  return found;
}

/**
 * The `User` references of event types (`actor`, `user`). They are filled in through `Query.user`, which
 * answers per viewer (a user who blocked the viewer is NOT_FOUND to them), so a selection of one is never
 * shared between viewers either.
 */
export function eventUserReferences(apiSchema: GraphQLSchema): ReadonlySet<string> {
  const fields = new Set<string>();
  const eventInterface = apiSchema.getType('RealtimeEvent');
  if (!isInterfaceType(eventInterface)) return fields;
  for (const type of apiSchema.getImplementations(eventInterface).objects) {
    for (const field of Object.values(type.getFields())) {
      if (getNamedType(field.type).name === 'User') fields.add(`${type.name}.${field.name}`);
    }
  }
  return fields;
}
