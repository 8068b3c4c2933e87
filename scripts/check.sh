#!/bin/sh
# `npm run check`, the quick inner loop: the type check runs on one core while Biome (lint,
# format and import order) and the unit tests run on the other. Prints each failure; exits 1 if anything failed.
cd "$(dirname "$0")/.." || exit 2
types=$(mktemp)
trap 'rm -f "$types"' EXIT
npm run --silent typecheck >"$types" 2>&1 &
typecheck=$!
status=0
npm run --silent lint || status=1
npx vitest run --project unit || status=1
if ! wait "$typecheck"; then
  cat "$types"
  echo "typecheck failed" >&2
  status=1
fi
exit "$status"
