#!/bin/sh
# Applies every subgraph's pending migrations, each to its own database: USERS_DATABASE_URL,
# CONVERSATIONS_DATABASE_URL, MESSAGES_DATABASE_URL, PRESENCE_DATABASE_URL and FILES_DATABASE_URL.
# Each run is the subgraph's `npm run migrate` (src/migrate.ts), as built into its dist/, with DATABASE_URL
# set to its URL; like the service it validates that service's whole environment first (see deploy/README.md).
set -eu
cd "$(dirname "$0")/../.."

for service in users conversations messages presence files; do
  variable="$(echo "$service" | tr '[:lower:]' '[:upper:]')_DATABASE_URL"
  eval "url=\${${variable}:-}"
  if [ -z "$url" ]; then
    echo "migrate: $variable is not set" >&2
    exit 1
  fi
  echo "migrate: $service"
  (cd "subgraphs/$service" && DATABASE_URL="$url" node dist/migrate.js)
done
