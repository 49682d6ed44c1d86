import { authMutationResolvers } from './auth-mutations.js';
import { avatarsAmongResolvers } from './avatars-among.js';
import { contactMutationResolvers } from './contact-mutations.js';
import { deviceMutationResolvers } from './device-mutations.js';
import { presenceAudienceResolvers } from './presence-audience-of.js';
import { profileMutationResolvers } from './profile-mutations.js';
import { queryResolvers } from './query.js';
import { scalarResolvers } from './scalars.js';
import { sessionResolvers } from './session.js';
import { userResolvers } from './user.js';
import { viewerRelationResolvers } from './viewer-relations.js';
import { viewerResolvers } from './viewer.js';

export const resolvers = {
  ...scalarResolvers,
  Query: {
    ...queryResolvers.Query,
    ...viewerRelationResolvers.Query,
    ...presenceAudienceResolvers.Query,
    ...avatarsAmongResolvers.Query,
  },
  Mutation: {
    ...authMutationResolvers.Mutation,
    ...profileMutationResolvers.Mutation,
    ...contactMutationResolvers.Mutation,
    ...deviceMutationResolvers.Mutation,
  },
  ...viewerResolvers,
  ...userResolvers,
  ...sessionResolvers,
};
