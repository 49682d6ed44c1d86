// Writes the secrets docker-compose.yml hands to its services, one file per variable, into the directory
// given as the argument (the `secrets` volume). A value set in .env is written every time; otherwise a
// secret is generated once and kept, so restarts keep sessions, tokens and the databases' passwords valid.
// Runs as root in a stock node image; the files are handed to the `node` user of the Parley images.
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { chownSync, existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const directory = process.argv[2];
if (!directory) throw new Error('usage: node init-secrets.mjs <directory>');

/** The uid and gid of `node` in the official node images, which the Parley images run as. */
const APP_USER = 1000;

const randomSecret = () => randomBytes(32).toString('base64url');

/** What `npm run keys:generate -w @parley/users` prints, as the one-key array AUTH_SIGNING_KEYS holds. */
function signingKeys() {
  const { kty, crv, x, d } = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const kid = `${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`;
  return JSON.stringify([{ kid, kty, crv, x, d }]);
}

const secrets = {
  AUTH_SIGNING_KEYS: signingKeys,
  SERVICE_TOKEN_SECRET: randomSecret,
  POSTGRES_PASSWORD: randomSecret,
  MINIO_ROOT_PASSWORD: randomSecret,
};

for (const [name, generate] of Object.entries(secrets)) {
  const file = join(directory, name);
  const given = process.env[name];
  if (!given && existsSync(file)) {
    console.log(`${name}: kept`);
    continue;
  }
  const partial = `${file}.partial`;
  writeFileSync(partial, given || generate(), { mode: 0o400 });
  chownSync(partial, APP_USER, APP_USER);
  renameSync(partial, file);
  console.log(`${name}: ${given ? 'from .env' : 'generated'}`);
}
