#!/usr/bin/env bash
# Makes sure a Docker engine answers. Installs Debian's docker.io and starts dockerd by hand when
# none runs (these machines have no systemd). Fails loudly: tests that need Docker must never skip.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

if docker_answers; then
  log "docker engine answers ($(docker_cli version --format '{{.Server.Version}}' 2>/dev/null))"
  exit 0
fi

if [ -n "${DOCKER_HOST:-}" ] && [[ "$DOCKER_HOST" != unix://* ]]; then
  die "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST"
fi

if ! command -v dockerd >/dev/null 2>&1; then
  log "installing docker.io from Debian"
  apt_install "${DOCKER_PACKAGES[@]}"
fi

# A systemd machine: let the service manager own the daemon.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  as_root systemctl start docker || true
fi

if ! docker_answers; then
  log "starting dockerd in the background (log: /var/log/modelarts-dockerd.log)"
  # overlay2 is what the image recipes were tried with; never pass --bridge=none (it deletes docker0).
  as_root sh -c 'nohup setsid dockerd --storage-driver=overlay2 >/var/log/modelarts-dockerd.log 2>&1 &'
  for _ in $(seq 1 120); do
    docker_answers && break
    sleep 0.5
  done
fi

docker_answers || { tail -n 30 /var/log/modelarts-dockerd.log 2>/dev/null || true; die "the Docker engine did not start"; }
log "docker engine answers ($(docker_cli version --format '{{.Server.Version}}'))"
