import path from 'node:path';
import type { NextConfig } from 'next';

const root = path.join(import.meta.dirname, '..');

const config: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The monorepo root holds the lockfile and node_modules; without this Next guesses and warns.
  turbopack: { root },
  outputFileTracingRoot: root,
  // `npm run typecheck` checks this package with the rest of the repo; checking again here only slows builds.
  typescript: { ignoreBuildErrors: true },
};

export default config;
