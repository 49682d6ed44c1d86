import { generateSigningKey } from '../src/auth/keyring.js';

// Prints a new private signing key. To rotate: append it to AUTH_SIGNING_KEYS, deploy, set
// AUTH_ACTIVE_KID to its kid, and remove the old key once ACCESS_TOKEN_TTL_SECONDS have passed.
console.log(JSON.stringify(await generateSigningKey()));
