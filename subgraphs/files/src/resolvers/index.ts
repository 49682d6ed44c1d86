import { fileResolvers } from './file.js';
import { mutationResolvers } from './mutations.js';
import { queryResolvers } from './query.js';
import { scalarResolvers } from './scalars.js';
import { userResolvers } from './user.js';

export const resolvers = {
  ...scalarResolvers,
  ...queryResolvers,
  ...mutationResolvers,
  ...fileResolvers,
  ...userResolvers,
};
