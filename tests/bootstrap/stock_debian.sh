#!/usr/bin/env bash
# The README's promise, tested: on a stock Debian 12 that has the distribution's python3 and make and
# nothing else of Python (no pip, no venv module, PEP 668 in force), `make sync` then
# `make plan STACK=prod` succeed, and after `. .venv/bin/activate` both `modelplane` and the `uv` that
# Pulumi's `toolchain: uv` needs are on PATH.
#
# mmdebstrap builds a fresh bookworm root filesystem from Debian's own packages: minbase (essential,
# required and apt) plus python3 and make (what the README asks for) and ca-certificates (how any Debian
# machine trusts TLS, a corporate proxy's CA included). No git: the flow does not need it, and the tree is
# the committed one (`git archive HEAD`, no untracked files). Both commands run as root in a chroot with a
# clean environment, so the Makefile installs what is missing with apt-get from Debian's mirror, as on a
# user's machine. This machine's CA bundle and pip configuration are copied in, as a corporate machine
# has them.
#
# The host's apt and uv caches are lent by hard links (copies across file systems): a warm run downloads
# almost nothing, and the .debs a run fetches are given back to the host's apt cache. mmdebstrap runs in
# its own mount and PID namespaces (--mode=unshare), so its mounts and processes end with it, and it
# deletes the root filesystem, on failure too. On failure the whole log is printed.
#
# Usage: tests/bootstrap/stock_debian.sh UV_CACHE_DIR   (as root; `make bootstrap-test` passes `uv cache dir`)
# Environment: APT_CACHE (default /var/cache/apt/archives), LOG (default out/bootstrap-debian12.log).
set -euo pipefail

self="$(readlink -f "$0")"
project="$(cd "$(dirname "$self")/../.." && pwd)"

# lend DIRECTORY SOURCE...: hard links to the SOURCE files (a SOURCE ending in /. lends a directory's
# content) in DIRECTORY where one file system holds both, else copies; what DIRECTORY has is kept.
lend() {
    local directory="$1"
    shift
    [ "$#" -gt 0 ] || return 0
    mkdir -p "$directory"
    cp --archive --link --no-clobber --target-directory="$directory" "$@" 2>/dev/null ||
        cp --archive --no-clobber --target-directory="$directory" "$@"
}

# lend_debs FROM TO: the .deb files of the apt cache FROM, lent to the apt cache TO.
lend_debs() {
    local debs
    mapfile -d '' debs < <(find "$1" -maxdepth 1 -name '*.deb' -print0)
    lend "$2" "${debs[@]}"
}

# What the user runs, in the chroot. The premises come first, so that the test cannot pass because the
# root filesystem already had what `make sync` must install. (Expanded by the chroot's bash, not here.)
# shellcheck disable=SC2016
in_chroot='
set -eux
refuse() { if "$@"; then echo "premise broken: \`$*\` succeeded on the stock system" >&2; exit 1; fi; }
test -f /usr/lib/python3.11/EXTERNALLY-MANAGED
refuse python3 -m pip --version
refuse python3 -c "import ensurepip"
refuse command -v uv
cd /root/modelplane
make sync
make plan STACK=prod
set +x
. .venv/bin/activate
set -x
modelplane --help >/dev/null
test "$(command -v uv)" = /root/modelplane/.venv/bin/uv
uv --version
'

case "${1:-}" in
setup-hook)
    # $2: the root filesystem, before mmdebstrap downloads anything.
    lend_debs "$APT_CACHE" "$2/var/cache/apt/archives"
    exit 0
    ;;
customize-hook)
    root="$2"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    if [ -f /etc/pip.conf ]; then cp /etc/pip.conf "$root/etc/pip.conf"; fi
    if [ -d /etc/xdg/pip ]; then mkdir -p "$root/etc/xdg" && cp -a /etc/xdg/pip "$root/etc/xdg/"; fi
    lend "$root/root/.cache/uv" "$UV_CACHE/."
    tar --extract --file "$WORK/tree.tar" --directory "$root/root"
    started=$SECONDS
    status=0
    chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/bash -c "$in_chroot" || status=$?
    echo "$((SECONDS - started))" >"$WORK/run-seconds"
    lend_debs "$root/var/cache/apt/archives" "$APT_CACHE"
    exit "$status"
    ;;
esac

UV_CACHE="$(readlink -f "${1:?usage: $0 UV_CACHE_DIR (the host uv cache: uv cache dir)}")"
APT_CACHE="${APT_CACHE:-/var/cache/apt/archives}"
log="${LOG:-$project/out/bootstrap-debian12.log}"
mkdir -p "$(dirname "$log")" "$APT_CACHE"
# Next to the caches (/var/tmp is on the root file system, as /var/cache is), so that lending links.
WORK="$(mktemp -d "${TMPDIR:-/var/tmp}/modelplane-bootstrap.XXXXXX")"
trap 'rm -rf --one-file-system "$WORK"' EXIT
# apt downloads as the _apt user, who must reach the root filesystem inside it.
chmod 755 "$WORK"
export UV_CACHE APT_CACHE WORK

git -C "$project" archive --format=tar --prefix=modelplane/ HEAD >"$WORK/tree.tar"
echo "bootstrap test: stock Debian 12 (mmdebstrap), make sync && make plan STACK=prod on $(git -C "$project" rev-parse --short HEAD); log: $log"
started=$SECONDS
if ! TMPDIR="$WORK" mmdebstrap --mode=unshare --variant=minbase --include=python3,make,ca-certificates \
    --skip=essential/unlink \
    --setup-hook="'$self' setup-hook \"\$1\"" \
    --customize-hook="'$self' customize-hook \"\$1\"" \
    bookworm /dev/null >"$log" 2>&1; then
    cat "$log" >&2
    echo "bootstrap test FAILED after $((SECONDS - started))s: make sync or make plan STACK=prod on a stock Debian 12 (log above, kept in $log)" >&2
    exit 1
fi
run="$(cat "$WORK/run-seconds")"
echo "bootstrap test passed in $((SECONDS - started))s: root filesystem $((SECONDS - started - run))s, make sync and make plan ${run}s"
grep -E '^prod: .* violations' "$log"
