import { conversationResolvers } from './conversation.js';
import { mutationResolvers } from './mutations.js';
import { queryResolvers } from './query.js';
import { scalarResolvers } from './scalars.js';
import { userResolvers } from './user.js';
import { viewerResolvers } from './viewer.js';

export const resolvers = {
  ...scalarResolvers,
  ...queryResolvers,
  ...mutationResolvers,
  ...userResolvers,
  ...viewerResolvers,
  ...conversationResolvers,
};
