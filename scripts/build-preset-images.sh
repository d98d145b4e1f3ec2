#!/usr/bin/env bash
# Builds every preset engine image under images/ from Debian packages, with no registry:
# mmdebstrap makes the root file system, `docker import` turns it into an image.
# An image is rebuilt only when its recipe (the folder plus this script) changed: the recipe's
# hash is kept in the image's labels. Pass --force to rebuild anyway.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(cd "$here/.." && pwd)
force=""; [ "${1:-}" = "--force" ] && force=1

docker_answers || die "no Docker engine answers; run scripts/ensure-docker.sh first"

# Bump when a change to this script changes what ends up in the images.
BUILD_FORMAT=1

recipe_hash() {
  { echo "format=$BUILD_FORMAT"; cd "$1" && cat engine.env packages.txt customize.sh; } | sha256sum | cut -c1-16
}

# Debian bookworm sources for the image. On a Debian bookworm host, reuse the host's own mirrors
# (they may point at a local mirror or a snapshot); elsewhere mmdebstrap's defaults.
mirror_args() {
  if [ -n "${MODELARTS_DEBIAN_MIRROR:-}" ]; then printf '%s\n' "$MODELARTS_DEBIAN_MIRROR"; return; fi
  . /etc/os-release 2>/dev/null || true
  [ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ] || return 0
  local f
  for f in /etc/apt/sources.list.d/*.sources; do [ -f "$f" ] && printf '%s\n' "$f"; done
  if [ -s /etc/apt/sources.list ] && grep -qE '^\s*deb\s' /etc/apt/sources.list; then printf '%s\n' /etc/apt/sources.list; fi
}

build_one() {
  local dir=$1
  # shellcheck disable=SC1091
  . "$dir/engine.env"
  local hash; hash=$(recipe_hash "$dir")
  local have; have=$(docker_cli image inspect --format '{{ index .Config.Labels "org.modelarts-training.recipe-hash" }}' "$IMAGE" 2>/dev/null || true)
  local old_id; old_id=$(docker_cli image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
  if [ -z "$force" ] && [ "$have" = "$hash" ]; then
    log "preset image $IMAGE is up to date (recipe $hash)"
    return 0
  fi
  # A machine that built this recipe before kept the image as a tarball: loading takes seconds.
  local saved; saved="$(cache_root)/images/${ENGINE_ID}-${hash}.tar"
  if [ -z "$force" ] && [ -f "$saved" ] && docker_cli load -q -i "$saved" >/dev/null 2>&1; then
    log "loaded preset image $IMAGE from $saved"
    return 0
  fi
  log "building preset image $IMAGE (recipe $hash${have:+, was $have}); this takes a few minutes"
  apt_install "${IMAGE_BUILD_PACKAGES[@]}"
  local packages; packages=$(grep -vE '^\s*(#|$)' "$dir/packages.txt" | paste -sd, -)
  local mirrors=(); mapfile -t mirrors < <(mirror_args)
  local started=$SECONDS
  # Unprivileged users need --mode=unshare; root uses the faster default.
  local mode=(); [ "$(id -u)" = 0 ] || mode=(--mode=unshare)
  as_root mmdebstrap "${mode[@]}" --quiet --variant=apt --format=tar \
      --include="$packages" \
      --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
      --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' \
      --dpkgopt='path-exclude=/usr/share/man/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-exclude=/usr/share/info/*' \
      --customize-hook="$dir/customize.sh \"\$1\"" \
      "$SUITE" - "${mirrors[@]}" \
    | docker_cli import \
      --change 'ENV LANG=C.UTF-8' \
      --change 'ENV PYTHONUNBUFFERED=1' \
      --change 'USER ma-user' \
      --change 'WORKDIR /home/ma-user' \
      --change 'CMD ["/bin/bash"]' \
      --change "LABEL org.modelarts-training.engine.id=$ENGINE_ID" \
      --change "LABEL org.modelarts-training.engine.name=$ENGINE_NAME" \
      --change "LABEL org.modelarts-training.engine.version=$ENGINE_VERSION" \
      --change "LABEL org.modelarts-training.recipe-hash=$hash" \
      - "$IMAGE" >/dev/null
  # The previous build is now untagged: remove it unless a container still uses it.
  if [ -n "$old_id" ] && [ "$old_id" != "$(docker_cli image inspect --format '{{.Id}}' "$IMAGE")" ]; then
    docker_cli image rm "$old_id" >/dev/null 2>&1 || true
  fi
  mkdir -p "$(dirname "$saved")"
  rm -f "$(cache_root)/images/${ENGINE_ID}-"*.tar
  docker_cli save -o "$saved.partial" "$IMAGE" && mv "$saved.partial" "$saved" || rm -f "$saved.partial"
  log "built $IMAGE in $((SECONDS - started)) s ($(docker_cli image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
}

# Only folders with an engine.env are preset engines (images/s3-test-server is a test server).
for dir in "$root"/images/*/; do
  if [ -f "$dir/engine.env" ]; then build_one "${dir%/}"; fi
done
