import { conversationResolvers } from './conversation.js';
import { mutationResolvers } from './mutations.js';
import { scalarResolvers } from './scalars.js';
import { userResolvers } from './user.js';
import { viewerResolvers } from './viewer.js';

export const resolvers = {
  ...scalarResolvers,
  ...mutationResolvers,
  ...userResolvers,
  ...viewerResolvers,
  ...conversationResolvers,
};
