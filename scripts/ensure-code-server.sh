#!/usr/bin/env bash
# Installs code-server 4.100.3 (VS Code 1.100.3, the last release on Node 20) from npm into the
# cache, once. Prints the path of its launcher on stdout.
# Its nested install downloads ripgrep from GitHub, which these machines cannot reach: the download
# cache is seeded with Debian's rg (the same 13.0.0 release) first.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

version=4.100.3
dir="$(cache_root)/code-server-$version"
bin="$dir/node_modules/code-server/out/node/entry.js"

if [ -f "$bin" ] && [ -f "$dir/.installed" ]; then
  printf '%s\n' "$bin"
  exit 0
fi

log "installing code-server $version into $dir (about two minutes, once)"
apt_install "${CODE_SERVER_PACKAGES[@]}"

rg_version=13.0.0-10
rg_cache="$(node -p 'require("os").tmpdir()')/vscode-ripgrep-cache-1.15.11"
rg_archive="$rg_cache/ripgrep-v$rg_version-x86_64-unknown-linux-musl.tar.gz"
if [ ! -f "$rg_archive" ]; then
  mkdir -p "$rg_cache"
  staging=$(mktemp -d)
  cp "$(command -v rg)" "$staging/rg"
  tar -C "$staging" -czf "$rg_archive" rg
  rm -rf "$staging"
fi

rm -rf "$dir"
mkdir -p "$dir"
cd "$dir"
printf '{ "name": "code-server-cache", "private": true }\n' > package.json
started=$SECONDS
# code-server's postinstall installs VS Code's own modules (node-pty, ripgrep, ...): its scripts must run.
npm_config_yes=true npm_config_dangerously_allow_all_scripts=true npm_config_nodedir="${npm_config_nodedir:-/usr}" \
  npm install --no-audit --no-fund --unsafe-perm --loglevel=error "code-server@$version" >&2
[ -f "$bin" ] || die "code-server did not install ($bin is missing)"
node "$bin" --version >/dev/null || die "code-server $version does not start"
touch "$dir/.installed"
log "code-server $version installed in $((SECONDS - started)) s"
printf '%s\n' "$bin"
