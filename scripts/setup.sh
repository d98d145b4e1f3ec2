#!/usr/bin/env bash
# All the set-up a fresh Debian/Ubuntu machine with Node 20 needs, idempotent and quick once done:
#   scripts/setup.sh product   Docker engine, preset engine image, code-server (to run the editor)
#   scripts/setup.sh test      the same, plus Chromium (the editor and UI suites drive it), rclone, and
#                              the S3 test server (Ceph radosgw in a container, built on the preset image)
# Slow parts run in parallel: the image build (about 4 minutes from nothing) followed by the S3 test
# server (about a minute more), and the code-server install (about 2 minutes). All are cached: the
# images in Docker (and as tarballs in the cache), the editor in the cache folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(cd "$here/.." && pwd)
mode=${1:-test}
started=$SECONDS

node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "Node 20 or newer is needed (found $(node --version))"

if [ ! -d "$root/node_modules/esbuild" ]; then
  log "installing npm dependencies"
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error)
fi

# Every Debian package in one apt run (parallel apt runs would fight over the dpkg lock).
packages=("${IMAGE_BUILD_PACKAGES[@]}" "${CODE_SERVER_PACKAGES[@]}")
docker_answers || packages+=("${DOCKER_PACKAGES[@]}")
[ "$mode" = test ] && packages+=("${BROWSER_PACKAGES[@]}" "${S3_TEST_PACKAGES[@]}")
apt_install "${packages[@]}"

"$here/ensure-docker.sh"

# The images and the editor install do not depend on each other; the S3 test server's image is
# built FROM the preset image, so it comes after it.
images="the preset engine image"
if [ "$mode" = test ]; then
  images="the preset engine image or the S3 test server"
  { "$here/build-preset-images.sh" && "$here/ensure-s3-server.sh" >/dev/null; } &
else
  "$here/build-preset-images.sh" &
fi
image_pid=$!
"$here/ensure-code-server.sh" >/dev/null &
editor_pid=$!
status=0
wait "$image_pid" || { log "building $images failed"; status=1; }
wait "$editor_pid" || { log "installing code-server failed"; status=1; }
[ "$status" = 0 ] || exit "$status"

log "set-up ($mode) done in $((SECONDS - started)) s"
