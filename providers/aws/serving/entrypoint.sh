#!/bin/sh
# Start fakewatch's serving app for one contract. SageMaker appends `serve`; other platforms
# may pass nothing or their own arguments. exec, so SIGTERM reaches the server directly and
# in-flight requests finish before it exits.
set -eu
contract="$1"
shift
if [ "${1:-}" = "serve" ]; then
  shift
fi
exec python -m fakewatch_serve run --contract "$contract" "$@"
