#!/usr/bin/env bash
# Fetch Debian's Helix (`hx`) for editors/helix/check_config.py on a Debian 12 machine,
# which has no Helix package: the `hx` package of a newer suite and that suite's C
# library, unpacked into a folder (nothing is installed), and an `hx` script there that
# runs Helix with that library.
#
#     bash editors/helix/fetch_hx.sh /tmp/helix            # trixie: Helix 25.01.1
#     bash editors/helix/fetch_hx.sh /tmp/helix-sid sid    # unstable: Helix 25.07.1
#     python editors/helix/check_config.py --hx /tmp/helix/hx
#
# Uses apt with its own sources list and state under the folder (the machine's apt setup
# is left alone); needs Debian's archive key (/usr/share/keyrings) and dpkg-deb.
set -euo pipefail
dir="$(mkdir -p "$1" && cd "$1" && pwd)"
suite="${2:-trixie}"
mkdir -p "$dir/apt/sources.list.d" "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs" "$dir/root"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
    >"$dir/apt/sources.list"
apt_options=(
    -o "Dir::Etc::sourcelist=$dir/apt/sources.list" -o "Dir::Etc::sourceparts=$dir/apt/sources.list.d"
    -o "Dir::State::Lists=$dir/apt/lists" -o "Dir::Cache=$dir/apt/cache"
    -o "Dir::State::status=/var/lib/dpkg/status" -o "APT::Sandbox::User=root"
)
apt-get "${apt_options[@]}" update -qq
# The suite's newest of each (a bookworm libc6 is older, so it is never the candidate).
hx_version="$(apt-cache "${apt_options[@]}" policy hx | awk '/Candidate:/ {print $2}')"
libc_version="$(apt-cache "${apt_options[@]}" policy libc6 | awk '/Candidate:/ {print $2}')"
(cd "$dir/debs" && apt-get "${apt_options[@]}" download "hx=$hx_version" "libc6=$libc_version")
for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
lib="$dir/root/usr/lib/x86_64-linux-gnu"
cat >"$dir/hx" <<EOF
#!/bin/sh
# Debian $suite's Helix $hx_version with that suite's C library ($libc_version).
export HELIX_RUNTIME="$dir/root/usr/lib/hx/runtime"
exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib:/lib/x86_64-linux-gnu" "$dir/root/usr/lib/hx/hx" "\$@"
EOF
chmod +x "$dir/hx"
"$dir/hx" --version
