import { conversationResolvers } from './conversation.js';
import { messageResolvers } from './message.js';
import { mutationResolvers } from './mutations.js';
import { queryResolvers } from './query.js';
import { scalarResolvers } from './scalars.js';
import { viewerResolvers } from './viewer.js';

export const resolvers = {
  ...scalarResolvers,
  ...queryResolvers,
  ...mutationResolvers,
  ...conversationResolvers,
  ...messageResolvers,
  ...viewerResolvers,
};
