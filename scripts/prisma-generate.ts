import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

/**
 * `prisma generate` for the workspace it runs in. The Prisma 7 CLI wants to download a native schema
 * engine even though generating the client never uses it, and downloads fail offline; pointing
 * PRISMA_SCHEMA_ENGINE_BINARY at any executable skips the download.
 */
const prismaCli = createRequire(`${process.cwd()}/package.json`).resolve('prisma/build/index.js');
execFileSync(process.execPath, [prismaCli, 'generate'], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env['PRISMA_SCHEMA_ENGINE_BINARY'] ?? process.execPath,
    CHECKPOINT_DISABLE: '1',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
  },
});
