import { defineConfig } from 'prisma/config';

// Used by the Prisma CLI only (generate; `migrate deploy` where the schema engine can be downloaded).
// The service applies migrations itself with src/migrate.ts.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/parley_files' },
});
