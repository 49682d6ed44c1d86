import { writeFileSync } from 'node:fs';
import { errorCodes } from '../src/errors.js';

const rows = Object.entries(errorCodes).map(([code, meaning]) => `| \`${code}\` | ${meaning} |`);
const doc = [
  '# Error codes',
  '',
  'Generated from `packages/kit/src/errors.ts` by `npm run errors:doc`; `npm run errors:check` fails when stale.',
  'Every GraphQL error a client receives has one of these codes in `extensions.code`.',
  '',
  '| code | meaning |',
  '| --- | --- |',
  ...rows,
  '',
].join('\n');

writeFileSync(new URL('../../../docs/error-codes.md', import.meta.url), doc);
