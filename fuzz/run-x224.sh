#!/bin/sh
# Builds fuzz_x224 with clang and libFuzzer in its own build directory and
# runs it for SECONDS (default 60). Exits non-zero if it finds a crash.
# New inputs go to $BUILD/corpus/x224 and crashes to $BUILD/artifacts/, so
# the checked-in seed corpus (fuzz/corpus/x224) is only read.
# Usage: fuzz/run-x224.sh [SECONDS]   (BUILD=dir to choose the build dir)
set -eu

seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build-fuzz}

CC=clang cmake -S "$root" -B "$build" -DRDPFAULT_FUZZ=ON -DRDPFAULT_CLIENT_TESTS=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target fuzz_x224 -j "$(nproc)"

mkdir -p "$build/corpus/x224" "$build/artifacts"
exec "$build/fuzz/fuzz_x224" -max_total_time="$seconds" -print_final_stats=1 \
	-artifact_prefix="$build/artifacts/" "$build/corpus/x224" "$root/fuzz/corpus/x224"
