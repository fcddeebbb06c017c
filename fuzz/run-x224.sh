#!/bin/sh
# The X.224 parser's fuzz run: fuzz/run.sh x224 [SECONDS].
exec sh "$(dirname "$0")/run.sh" x224 "$@"
