import { VIEWER_INDEPENDENT, viewerDeclarations } from '@parley/schema';
import {
  getNamedType,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  BREAK,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';

/**
 * Fields declared `@viewerIndependent` in their subgraph (a composed directive, kept in the supergraph), as
 * `Type.field`: the only fields whose values may be shared between subscribers. Composition makes every field
 * a realtime event reaches declare itself one way or the other (`@perViewer`); the router trusts only this side.
 */
export function viewerIndependentFields(supergraphSdl: string): ReadonlySet<string> {
  return viewerDeclarations(supergraphSdl)[VIEWER_INDEPENDENT];
}

/**
 * Whether one execution of the document's subscription may be handed to every subscriber of it: only when
 * every field it selects below the subscription field (fragments included) is declared viewer-independent.
 * Anything else (a `@perViewer` field, a field declared neither way, a type unknown here) is executed per viewer.
 */
export function isShareableSelection(
  schema: GraphQLSchema,
  document: DocumentNode,
  independent: ReadonlySet<string>,
): boolean {
  const subscriptionType = schema.getSubscriptionType();
  const typeInfo = new TypeInfo(schema);
  let shareable = true;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        if (node.name.value === '__typename') return;
        const parent = typeInfo.getParentType();
        if (parent && parent === subscriptionType) return;
        if (!parent || !independent.has(`${getNamedType(parent).name}.${node.name.value}`)) {
          shareable = false;
          return BREAK;
        }
      },
    }),
  );
  return shareable;
}
