#!/bin/sh
# mmdebstrap customize hook: $1 is the root file system being built.
# The ModelArts container contract: user ma-user with UID 1000 in group 100 (as ModelArts images
# have it), home /home/ma-user, and the modelarts tree (code, inputs, outputs, logs) owned by it.
set -eu
root="$1"
chroot "$root" useradd --uid 1000 --gid 100 --create-home --home-dir /home/ma-user --shell /bin/bash ma-user
for d in user-job-dir inputs outputs log; do
  mkdir -p "$root/home/ma-user/modelarts/$d"
done
chroot "$root" chown -R 1000:100 /home/ma-user
# Keep the image small: apt lists and caches are not needed to run (apt update restores them).
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
