#!/usr/bin/env bash
# Sets up this host as builder build1: see setup_builder.sh for the options.
exec "$(dirname "$0")/setup_builder.sh" build1 "$@"
