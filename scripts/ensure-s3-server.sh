#!/usr/bin/env bash
# Makes sure a real S3 server answers on 127.0.0.1 for the integration tests and the benchmark:
# Ceph radosgw on a one-node in-memory cluster, in the container modelarts-test-s3 (reused while it
# runs). Prints the endpoint on stdout. The image (images/s3-test-server, built FROM the preset
# image) is rebuilt only when its recipe changed and is kept as a tarball in the cache, so a new
# machine that built it once loads it in seconds. About a minute from nothing.
#   scripts/ensure-s3-server.sh [--force]     --force rebuilds the image and restarts the server
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
root=$(cd "$here/.." && pwd)
force=""; [ "${1:-}" = "--force" ] && force=1

# Bump when a change to this script changes what ends up in the image.
BUILD_FORMAT=1
IMAGE=modelarts-training/s3-test-server:ceph
NAME=modelarts-test-s3
PORT=${MODELARTS_S3_PORT:-7480}
# Fixed keys of a local test server, known to the tests (test/support/s3Server.ts): not secrets.
ACCESS_KEY=modelarts-test-access-key
SECRET_KEY=modelarts-test-secret-key
REGION=us-east-1
recipe=$root/images/s3-test-server
base=modelarts-training/pytorch:1.13-cpu

docker_answers || die "no Docker engine answers; run scripts/ensure-docker.sh first"

# The base image's own recipe is part of ours: a new base means a new server image.
base_hash() { docker_cli image inspect --format '{{ index .Config.Labels "org.modelarts-training.recipe-hash" }}' "$base" 2>/dev/null || true; }
if [ -z "$(base_hash)" ]; then
  log "the preset image $base is missing; building it first"
  "$here/build-preset-images.sh"
fi
hash=$({ echo "format=$BUILD_FORMAT"; echo "base=$(base_hash)"; cat "$recipe/Dockerfile" "$recipe/start.sh"; } | sha256sum | cut -c1-16)

have=$(docker_cli image inspect --format '{{ index .Config.Labels "org.modelarts-training.recipe-hash" }}' "$IMAGE" 2>/dev/null || true)
saved="$(cache_root)/images/s3-test-server-${hash}.tar"
if [ -n "$force" ] || [ "$have" != "$hash" ]; then
  if [ -z "$force" ] && [ -f "$saved" ] && docker_cli load -q -i "$saved" >/dev/null 2>&1 \
     && [ "$(docker_cli image inspect --format '{{ index .Config.Labels "org.modelarts-training.recipe-hash" }}' "$IMAGE" 2>/dev/null)" = "$hash" ]; then
    log "loaded S3 test server image $IMAGE from $saved"
  else
    log "building S3 test server image $IMAGE (recipe $hash${have:+, was $have}); about a minute"
    old_id=$(docker_cli image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
    started=$SECONDS
    DOCKER_BUILDKIT=0 docker_cli build -q --label "org.modelarts-training.recipe-hash=$hash" -t "$IMAGE" "$recipe" >/dev/null
    if [ -n "$old_id" ] && [ "$old_id" != "$(docker_cli image inspect --format '{{.Id}}' "$IMAGE")" ]; then
      docker_cli rm -f "$NAME" >/dev/null 2>&1 || true
      docker_cli image rm "$old_id" >/dev/null 2>&1 || true
    fi
    mkdir -p "$(dirname "$saved")"
    rm -f "$(cache_root)/images/s3-test-server-"*.tar
    docker_cli save -o "$saved.partial" "$IMAGE" && mv "$saved.partial" "$saved" || rm -f "$saved.partial"
    log "built $IMAGE in $((SECONDS - started)) s"
  fi
fi

endpoint="http://127.0.0.1:$PORT"
# A signed ListBuckets: an answer from S3 itself, with the test user's keys, not just an open port.
s3_answers() {
  # curl 7.88 does not send the payload hash that S3 signatures cover; radosgw insists on it.
  curl -fsS -o /dev/null --max-time 5 -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" "$endpoint/" 2>/dev/null
}

image_id=$(docker_cli image inspect --format '{{.Id}}' "$IMAGE")
running=$(docker_cli inspect --format '{{.State.Running}} {{.Image}}' "$NAME" 2>/dev/null || true)
if [ -z "$force" ] && [ "$running" = "true $image_id" ] && s3_answers; then
  log "S3 test server answers at $endpoint (container $NAME)"
  printf '%s\n' "$endpoint"
  exit 0
fi

if [ -n "$running" ]; then
  log "replacing the container $NAME (${running%% *} = running; stale image or no answer)"
  docker_cli rm -f "$NAME" >/dev/null
fi
log "starting the S3 test server (container $NAME, $endpoint)"
docker_cli run -d --name "$NAME" \
  --label org.modelarts-training.test-server=s3 \
  -p "127.0.0.1:$PORT:7480" \
  -e S3_ACCESS_KEY="$ACCESS_KEY" -e S3_SECRET_KEY="$SECRET_KEY" \
  "$IMAGE" >/dev/null
started=$SECONDS
until s3_answers; do
  if [ "$(docker_cli inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null)" != true ]; then
    docker_cli logs --tail 40 "$NAME" >&2 || true
    die "the S3 test server container exited"
  fi
  if [ $((SECONDS - started)) -gt 180 ]; then
    docker_cli logs --tail 40 "$NAME" >&2 || true
    die "the S3 test server did not answer at $endpoint within 180 s"
  fi
  sleep 1
done
log "S3 test server answers at $endpoint after $((SECONDS - started)) s"
printf '%s\n' "$endpoint"
