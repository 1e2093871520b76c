#!/bin/sh
# Every C++ symbol obol defines lives in the versioned inline namespace obol::v1, so two obol builds
# of different versions linked into one process (statically, or one static and one shared) do not
# clash. Usage: check_abi_namespace.sh NM LIBRARY
set -eu
nm_tool=$1 lib=$2
bad=$("$nm_tool" --defined-only "$lib" 2>/dev/null | grep -oE '4obol[0-9]+[A-Za-z_][A-Za-z_0-9]*' | grep -v '^4obol2v1' | sort -u | head -20 || true)
if [ -n "$bad" ]; then
  echo "symbols outside obol::v1 in $lib:"
  echo "$bad"
  exit 1
fi
count=$("$nm_tool" --defined-only "$lib" 2>/dev/null | grep -c '4obol2v1' || true)
echo "$count symbols, all in obol::v1"
[ "$count" -gt 0 ]
