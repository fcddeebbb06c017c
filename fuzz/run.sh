#!/bin/sh
# Builds a libFuzzer target (fuzz_TARGET) with clang in its own build
# directory and runs it for SECONDS (default 60). Exits non-zero if it finds
# a crash. New inputs go to $BUILD/corpus/TARGET and crashes to
# $BUILD/artifacts/, so the checked-in seed corpus (fuzz/corpus/TARGET, when
# there is one) is only read.
# Usage: fuzz/run.sh TARGET [SECONDS]   (BUILD=dir to choose the build dir)
#   TARGET: x224, multitransport, apibody
set -eu

target=${1:?usage: fuzz/run.sh TARGET [SECONDS]}
seconds=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build-fuzz}

CC=clang cmake -S "$root" -B "$build" -DRDPFAULT_FUZZ=ON -DRDPFAULT_CLIENT_TESTS=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target "fuzz_$target" -j "$(nproc)"

mkdir -p "$build/corpus/$target" "$build/artifacts"
seeds=""
[ -d "$root/fuzz/corpus/$target" ] && seeds="$root/fuzz/corpus/$target"
# shellcheck disable=SC2086 # seeds is one path or none
exec "$build/fuzz/fuzz_$target" -max_total_time="$seconds" -print_final_stats=1 \
	-artifact_prefix="$build/artifacts/" "$build/corpus/$target" $seeds
