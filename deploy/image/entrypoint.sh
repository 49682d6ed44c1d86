#!/bin/sh
# Entrypoint of the Parley images. For each variable NAME_FILE in the environment, NAME is set to the
# contents of the file it names, unless NAME is set already (docker-compose.yml hands its generated secrets
# over this way; Kubernetes sets the variables themselves). Then the command takes this process's place.
set -eu

for name in $(env | sed -n 's/^\([A-Z][A-Z0-9_]*\)_FILE=.*/\1/p'); do
  eval "path=\${${name}_FILE}"
  eval "value=\${${name}:-}"
  if [ -z "$value" ]; then
    if [ ! -r "$path" ]; then
      echo "entrypoint: ${name}_FILE names $path, which cannot be read" >&2
      exit 1
    fi
    export "$name=$(cat "$path")"
  fi
  unset "${name}_FILE"
done

exec "$@"
