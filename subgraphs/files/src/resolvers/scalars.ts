import { DateTimeResolver } from 'graphql-scalars';

export const scalarResolvers = { DateTime: DateTimeResolver };
