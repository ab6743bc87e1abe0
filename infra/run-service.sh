#!/bin/sh
# The image's entry point: `run-service.sh <name>` starts one mmit process in the foreground.
# This is the one place the image says how each process starts (compose and Kubernetes pass only
# the name), so moving from tsx to a build step changes this file alone.
set -eu
name="${1:-}"
case "$name" in
  ingest | synth | features | trainer | serve | console) entry="services/$name/src/main.ts" ;;
  gateway) entry="infra/gateway-main.ts" ;;
  *)
    echo "usage: run-service.sh ingest|synth|features|trainer|serve|console|gateway (got '$name')" >&2
    exit 64
    ;;
esac
cd "$(dirname "$0")/.."
exec node --import tsx "$entry"
