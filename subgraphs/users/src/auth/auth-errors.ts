import { unauthenticated } from '@parley/kit';

/** A login that cannot proceed, whatever the reason: no account, wrong password, password changed meanwhile. */
export const invalidCredentials = () =>
  unauthenticated('Wrong email or password', { reason: 'INVALID_CREDENTIALS' });

/** A valid token or refresh token of an account that has been deleted since. */
export const accountDeleted = () => unauthenticated('Account deleted', { reason: 'ACCOUNT_DELETED' });
