#!/usr/bin/env bash
# Packs an aarch64 binary with every shared library it needs, the dynamic
# loader included, into a tarball that runs on any aarch64 Linux board:
#
#   bundle.sh <binary> <out.tar.gz> <sysroot>
#
#   <name>/<name>        launcher: runs bin/<name> through the bundled loader
#   <name>/bin/<name>    the binary
#   <name>/lib/          its libraries (from the sysroot and the cross runtime)
#
# The bundled loader makes the board's own glibc and libraries irrelevant: a
# Raspberry Pi OS or a Jetson's Ubuntu runs the same file. The tarball is
# byte-for-byte reproducible (sorted names, zero times and owners, gzip -n).
set -euo pipefail

binary=$1 out=$2 sysroot=$3
name=$(basename "$binary")
readonly LOADER=ld-linux-aarch64.so.1
readonly SEARCH=("$sysroot/usr/lib/aarch64-linux-gnu" /usr/aarch64-linux-gnu/lib)
die() { echo "bundle: error: $*" >&2; exit 1; }

needed() {
  aarch64-linux-gnu-readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'
}

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/$name/bin" "$root/$name/lib"
cp "$binary" "$root/$name/bin/$name"
chmod 755 "$root/$name/bin/$name"

# Breadth-first over DT_NEEDED, the loader first (it is the interpreter).
queue=("$LOADER" $(needed "$binary"))
declare -A seen=()
while ((${#queue[@]})); do
  library=${queue[0]}
  queue=("${queue[@]:1}")
  [[ -n "${seen[$library]:-}" ]] && continue
  seen[$library]=1
  found=""
  for directory in "${SEARCH[@]}"; do
    if [[ -e "$directory/$library" ]]; then found=$directory/$library; break; fi
  done
  [[ -n "$found" ]] || die "$name needs $library, found in none of: ${SEARCH[*]}"
  cp -L "$found" "$root/$name/lib/$library"
  queue+=($(needed "$found"))
done

cat >"$root/$name/$name" <<LAUNCHER
#!/bin/sh
# Runs $name with the libraries beside it, whatever the board has installed.
# TARGET_EMULATOR (empty on a board) lets an x86 test run it under qemu.
here=\$(dirname "\$(readlink -f "\$0")")
exec \${TARGET_EMULATOR:-} "\$here/lib/$LOADER" --library-path "\$here/lib" \\
  "\$here/bin/$name" "\$@"
LAUNCHER
chmod 755 "$root/$name/$name"

tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$root" -cf - "$name" |
  gzip -n >"$out"
