# Shared shell helpers for the set-up scripts. Sourced, not run.
log() { printf '[modelarts] %s\n' "$*" >&2; }
die() { printf '[modelarts] error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# The Debian packages each part of the set-up needs; setup.sh installs their union in one apt run.
DOCKER_PACKAGES=(docker.io)
IMAGE_BUILD_PACKAGES=(mmdebstrap eatmydata debian-archive-keyring ca-certificates)
CODE_SERVER_PACKAGES=(build-essential python3 pkg-config libkrb5-dev libsecret-1-dev ripgrep ca-certificates)
BROWSER_PACKAGES=(chromium)
# The S3 test server's readiness probe (curl --aws-sigv4) and the upload benchmark's reference (rclone).
S3_TEST_PACKAGES=(curl rclone)

apt_updated=""
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Debian's docker CLI talks to Debian's engine; a newer CLI earlier on PATH works too, but
# prefer /usr/bin/docker when present so BuildKit and the engine agree.
docker_cli() {
  if [ -x /usr/bin/docker ]; then /usr/bin/docker "$@"; else docker "$@"; fi
}
docker_answers() { docker_cli info >/dev/null 2>&1; }

cache_root() { printf '%s' "${MODELARTS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/modelarts-training}"; }
