#!/usr/bin/env bash
# `npm run bench` entry: raise the open-file limit (10,000 idle connections need more than the
# usual 1,024 descriptors in the load generator and in each server), then run the coordinator.
# Node cannot raise its own limit, hence this wrapper. Build first: `npm run build`.
# PARLEY_BUILD_DIR: the compiled tree to run (default dist), e.g. a build made with
# `npx tsc -p . --outDir .build/bench` beside someone else's dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
hard="$(ulimit -Hn)"
want=65536
if [ "$hard" != "unlimited" ] && [ "$hard" -lt "$want" ]; then want="$hard"; fi
ulimit -n "$want" || echo "bench/run.sh: could not raise the open-file limit to $want (now $(ulimit -n))" >&2
build="${PARLEY_BUILD_DIR:-dist}"
if [ ! -f "$build/bench/run.js" ]; then
  echo "bench/run.sh: $build/bench/run.js not found; build first (npm run build, or npx tsc -p . --outDir $build)" >&2
  exit 2
fi
exec node "$build/bench/run.js" "$@"
