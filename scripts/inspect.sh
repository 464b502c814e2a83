#!/usr/bin/env bash
# The MCP Inspector CLI against `warden stdio`, run from the repository root (or anywhere):
#   bash scripts/inspect.sh --method tools/list
#   bash scripts/inspect.sh --method tools/call --tool-name search_incidents --tool-arg query=oom
# Arguments go to the Inspector. inspector-cli 1.0.x checks for "../package.json" against its working
# directory but imports it relative to its own file, so it fails unless run one level below a folder
# with a package.json (the repository root has none above it). It runs from dist/ here, and warden
# runs back in the caller's directory (`env --chdir`), where its ./warden.yaml and relative paths are.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
inspector="$root/node_modules/@modelcontextprotocol/inspector-cli/build/cli.js"
[ -f "$root/dist/cli.js" ] || { echo "dist/cli.js is missing: run npm run build (npm ci does)" >&2; exit 1; }
[ -f "$inspector" ] || { echo "the Inspector CLI is missing: run npm ci (it is a dev dependency)" >&2; exit 1; }
here="$PWD"
cd "$root/dist"
exec node "$inspector" --cli env --chdir="$here" node "$root/dist/cli.js" stdio "$@"
