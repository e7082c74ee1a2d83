#!/usr/bin/env bash
# Bootstraps a builder, idempotently: run it again at any time (after pulling a new version
# of buildctl, say) and every step says "ok, unchanged" or what it changed.
#
#   setup_builder.sh <id> [--remote URL] [--store DIR] [--signing-key PATH] [--prefix DIR] [--no-cron] [--agents-md PATH]
#
# 1. checks Node.js (>= 20.19) and git (>= 2.30);
# 2. installs buildctl's dependencies and builds it, in the repository this script lives in;
# 3. creates or joins the store (buildctl init), with the clone's signing key;
# 4. writes the builder id (/etc/build_server_id as root, else the store's .build_server_id;
#    BUILDCTL_ID_FILE names another host-wide file, as the CLI reads it);
# 5. registers the builder with this host name and its signing key, and sets the store's
#    git identity;
# 6. installs the buildctl, sm and sendmessages launchers into <prefix>/bin;
# 7. installs the crontab line running "buildctl agent --once" every minute (unless --no-cron);
# then, with --agents-md, writes the session checklist (buildctl guide) into an AGENTS.md.
# finally, shows this builder's unread mail, as the scripts it replaces did.
set -euo pipefail

readonly NODE_MIN=20.19
readonly GIT_MIN=2.30

usage() {
  cat <<'EOF'
usage: setup_builder.sh <id> [--remote URL] [--store DIR] [--signing-key PATH] [--prefix DIR] [--no-cron] [--agents-md PATH]

Sets up this host as builder <id>, idempotently (safe to run again).

  <id>            the builder id: a lowercase letter, then lowercase letters, digits or "-" (at most 32)
  --remote URL    the fleet's store remote to join (default: a local bare repository beside the store)
  --store DIR     the store clone (default: $BUILDCTL_STORE or ~/.buildctl/store); baked into the launchers
  --signing-key PATH  where the builder's signing key is kept (default: in the clone's .git/buildctl)
  --prefix DIR    where the launchers go: DIR/bin (default: /usr/local)
  --no-cron       do not install the crontab line (see "buildctl agent install --systemd")
  --agents-md PATH  write the session checklist ("buildctl guide") into PATH/AGENTS.md (PATH a
                  directory: an AI agent's workspace) or the file PATH, as a marked block;
                  the rest of the file is kept, a later run replaces only the block

Environment: BUILDCTL_ID_FILE names the host-wide id file (default /etc/build_server_id).
EOF
}

die_usage() {
  printf 'setup_builder.sh: %s\n' "$1" >&2
  usage >&2
  exit 2
}

die() {
  printf 'setup_builder.sh: %s\n' "$1" >&2
  if [ -n "${2:-}" ]; then printf 'hint: %s\n' "$2" >&2; fi
  exit 1
}

step() { printf '[%s] %s\n' "$1" "$2"; }

# ---- arguments --------------------------------------------------------------------------
ID=''
REMOTE=''
STORE_ARG=''
KEY_ARG=''
PREFIX='/usr/local'
CRON=1
AGENTS_MD=''
need_value() {
  if [ "$#" -lt 2 ] || [ -z "$2" ]; then die_usage "$1 needs a value"; fi
}
while [ "$#" -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --remote) need_value "$@"; REMOTE=$2; shift 2 ;;
    --remote=*) REMOTE=${1#*=}; shift ;;
    --store) need_value "$@"; STORE_ARG=$2; shift 2 ;;
    --store=*) STORE_ARG=${1#*=}; shift ;;
    --signing-key) need_value "$@"; KEY_ARG=$2; shift 2 ;;
    --signing-key=*) KEY_ARG=${1#*=}; shift ;;
    --prefix) need_value "$@"; PREFIX=$2; shift 2 ;;
    --prefix=*) PREFIX=${1#*=}; shift ;;
    --no-cron) CRON=0; shift ;;
    --agents-md) need_value "$@"; AGENTS_MD=$2; shift 2 ;;
    --agents-md=*) AGENTS_MD=${1#*=}; shift ;;
    --) shift; break ;;
    -*) die_usage "unknown option: $1" ;;
    *)
      if [ -n "$ID" ]; then die_usage "unexpected argument: $1 (the id is already $ID)"; fi
      ID=$1; shift ;;
  esac
done
if [ "$#" -gt 0 ]; then
  if [ -n "$ID" ] || [ "$#" -gt 1 ]; then die_usage "unexpected argument: $*"; fi
  ID=$1
fi
if [ -z "$ID" ]; then die_usage 'missing the builder id'; fi
if ! [[ "$ID" =~ ^[a-z][a-z0-9-]{0,31}$ ]] || [ "$ID" = all ]; then
  die_usage "invalid builder id \"$ID\": a lowercase letter, then lowercase letters, digits or \"-\", at most 32 (\"all\" is reserved)"
fi
for value in "$REMOTE" "$STORE_ARG" "$KEY_ARG" "$PREFIX" "$AGENTS_MD"; do
  case "$value" in *$'\n'*) die_usage 'arguments must not contain line breaks' ;; esac
done

absolute() {
  case "$1" in
    /*) printf '%s' "$1" ;;
    *) printf '%s/%s' "$PWD" "$1" ;;
  esac
}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
CLI="$REPO/dist/cli.js"
# The store: --store, else BUILDCTL_STORE, else the CLI's default. Only an explicit one is
# baked into the launchers; the default follows each user's HOME, as the CLI does.
if [ -n "$STORE_ARG" ]; then
  STORE=$(absolute "$STORE_ARG")
elif [ -n "${BUILDCTL_STORE:-}" ]; then
  STORE=$(absolute "$BUILDCTL_STORE")
  STORE_ARG=$STORE
else
  STORE="$HOME/.buildctl/store"
fi
PREFIX=$(absolute "$PREFIX")
BIN="$PREFIX/bin"
LIBEXEC="$PREFIX/lib/buildctl"

# ---- 1. Node.js and git -----------------------------------------------------------------
# version_at_least HAVE WANT: both "major.minor[.patch...]".
version_at_least() {
  local have_major have_minor want_major want_minor rest
  IFS=. read -r have_major have_minor rest <<<"$1"
  IFS=. read -r want_major want_minor rest <<<"$2"
  have_minor=${have_minor:-0}
  [[ "$have_major" =~ ^[0-9]+$ && "$have_minor" =~ ^[0-9]+$ ]] || return 1
  [ "$have_major" -gt "$want_major" ] || { [ "$have_major" -eq "$want_major" ] && [ "$have_minor" -ge "$want_minor" ]; }
}

NODE=$(command -v node || true)
if [ -z "$NODE" ]; then
  die "Node.js is not installed (buildctl needs Node.js $NODE_MIN or later)" \
    'install Node.js 20 or 22 LTS (https://nodejs.org, or your distribution'"'"'s nodejs package), then run this again'
fi
NODE=$(absolute "$NODE")
NODE_VERSION=$("$NODE" -p 'process.versions.node' 2>/dev/null || true)
if ! version_at_least "$NODE_VERSION" "$NODE_MIN"; then
  die "Node.js $NODE_VERSION at $NODE is too old: buildctl needs $NODE_MIN or later" \
    'install Node.js 20.19+ or 22 LTS (https://nodejs.org), then run this again'
fi
if ! command -v git >/dev/null 2>&1; then
  die "git is not installed (buildctl needs git $GIT_MIN or later)" 'install git (e.g. "apt-get install git"), then run this again'
fi
GIT_VERSION=$(git --version | sed -n 's/^git version \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p')
if ! version_at_least "$GIT_VERSION" "$GIT_MIN"; then
  die "git $(git --version | sed 's/^git version //') is too old: buildctl needs $GIT_MIN or later" 'install a newer git, then run this again'
fi
step 1/7 "Node.js $NODE_VERSION ($NODE) and git $(git --version | sed 's/^git version //'): ok"

# ---- 2. dependencies and build ----------------------------------------------------------
# npm writes node_modules/.package-lock.json on every install: when it is newer than
# package-lock.json the installed tree matches the lock and nothing needs installing.
deps=()
if [ ! -f "$REPO/node_modules/.package-lock.json" ] || [ "$REPO/package-lock.json" -nt "$REPO/node_modules/.package-lock.json" ]; then
  command -v npm >/dev/null 2>&1 || die 'npm is not installed' 'install npm (it comes with Node.js from nodejs.org), then run this again'
  (cd "$REPO" && npm ci --no-audit --no-fund) >&2
  deps+=("installed the dependencies (npm ci)")
fi
# Build when there is no build, or the sources changed since (after a git pull).
if [ ! -f "$CLI" ] || { [ -d "$REPO/src" ] && [ -n "$(find "$REPO/src" -newer "$CLI" -type f -print -quit)" ]; }; then
  (cd "$REPO" && npm run build) >&2
  deps+=("built $CLI")
fi
if [ "${#deps[@]}" -eq 0 ]; then
  step 2/7 'dependencies and build: ok, unchanged'
else
  printf -v joined '%s; ' "${deps[@]}"
  step 2/7 "dependencies and build: ${joined%; }"
fi

buildctl() { "$NODE" "$CLI" --store "$STORE" "$@"; }

# ---- 3. the store -----------------------------------------------------------------------
init_args=(init)
if [ -n "$REMOTE" ]; then init_args+=(--remote "$REMOTE"); fi
if [ -n "$KEY_ARG" ]; then init_args+=(--signing-key "$(absolute "$KEY_ARG")"); fi
init_out=$(buildctl "${init_args[@]}")
if printf '%s\n' "$init_out" | grep -q 'nothing changed'; then
  step 3/7 "store $STORE: ok, unchanged"
else
  step 3/7 "store $STORE:"
  printf '%s\n' "$init_out" | sed 's/^/      /'
fi

# ---- 4. the builder id ------------------------------------------------------------------
if [ -n "${BUILDCTL_ID_FILE:-}" ]; then
  ID_FILE=$(absolute "$BUILDCTL_ID_FILE")
elif [ "$(id -u)" -eq 0 ]; then
  ID_FILE=/etc/build_server_id
else
  ID_FILE="$STORE/.build_server_id"
fi
current_id=''
if [ -f "$ID_FILE" ]; then current_id=$(tr -d '[:space:]' <"$ID_FILE"); fi
if [ "$current_id" = "$ID" ]; then
  step 4/7 "builder id $ID in $ID_FILE: ok, unchanged"
elif [ -n "$current_id" ]; then
  die "this host is already builder \"$current_id\" ($ID_FILE), not \"$ID\"" \
    "a builder that writes as another corrupts the fleet's picture: if this host really becomes $ID, remove $ID_FILE and run this again"
else
  mkdir -p "$(dirname "$ID_FILE")"
  tmp="$ID_FILE.tmp.$$"
  printf '%s\n' "$ID" >"$tmp"
  chmod 644 "$tmp"
  mv -f "$tmp" "$ID_FILE"
  step 4/7 "builder id: wrote $ID to $ID_FILE"
fi

# ---- 5. registration and git identity ---------------------------------------------------
HOST=$(hostname 2>/dev/null || uname -n)
add_out=$(buildctl --as "$ID" builder add "$ID" --host "$HOST")
changes=()
case "$add_out" in
  unchanged*) ;;
  *) changes+=("$add_out (host $HOST)") ;;
esac
set_git_config() {
  local key=$1 value=$2
  if [ "$(git -C "$STORE" config --local --get "$key" || true)" != "$value" ]; then
    git -C "$STORE" config --local "$key" "$value"
    changes+=("set $key to \"$value\"")
  fi
}
# The clone's signing key (init made it) for this builder: under require_signed_writes only
# an operator may add it, which is said, not fatal (the rest of the setup still holds).
key_note=''
if key_out=$(buildctl --as "$ID" builder key add "$ID" 2>&1); then
  case "$key_out" in
    unchanged*) ;;
    *) changes+=("$key_out") ;;
  esac
else
  key_note=$(printf '%s\n' "$key_out" | sed 's/^/      /')
  changes+=("the signing key is NOT registered for $ID (an operator must add it):")
fi
set_git_config user.name "buildctl $ID"
set_git_config user.email "$ID@buildctl.invalid"
if [ "${#changes[@]}" -eq 0 ]; then
  step 5/7 "builder $ID registered (host $HOST, signing key), store git identity: ok, unchanged"
else
  step 5/7 'registration, signing key and git identity:'
  printf '      - %s\n' "${changes[@]}"
  if [ -n "$key_note" ]; then printf '%s\n' "$key_note"; fi
fi

# ---- 6. launchers -----------------------------------------------------------------------
# <prefix>/lib/buildctl/{buildctl,sm,sendmessages} are symlinks to dist/cli.js: the CLI
# dispatches on the name it was started as, which node keeps from the symlink's path.
# <prefix>/bin/* are small sh scripts running the absolute node on them, with the store
# (when one was given) and the id file (when BUILDCTL_ID_FILE was set) this setup used, so
# the launchers, the crontab line and this script all act as the same builder on the same
# store. Values are single-quoted: any character but a line break is safe in them.
sh_quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
# `default_line NAME VALUE`: launcher lines setting NAME to VALUE unless the caller set it.
# shellcheck disable=SC2016 # the launcher expands it, not this script
default_line() { printf 'if [ -z "${%s:-}" ]; then %s=%s; fi\nexport %s\n' "$1" "$1" "$(sh_quote "$2")" "$1"; }

if ! mkdir -p "$BIN" "$LIBEXEC" 2>/dev/null || ! [ -w "$BIN" ] || ! [ -w "$LIBEXEC" ]; then
  die "cannot write to $BIN and $LIBEXEC" 'run as root, or pass --prefix ~/.local (and put ~/.local/bin on PATH)'
fi
launchers=()
for name in buildctl sm sendmessages; do
  link="$LIBEXEC/$name"
  if [ "$(readlink "$link" 2>/dev/null || true)" != "$CLI" ]; then
    ln -sfn "$CLI" "$link.tmp.$$"
    mv -Tf "$link.tmp.$$" "$link"
    launchers+=("linked $link -> $CLI")
  fi
  target="$BIN/$name"
  tmp="$target.tmp.$$"
  {
    printf '#!/bin/sh\n'
    printf '# %s launcher for buildctl, written by %s/scripts/setup_builder.sh: run that again rather than editing.\n' "$name" "$REPO"
    if [ -n "$STORE_ARG" ]; then default_line BUILDCTL_STORE "$STORE"; fi
    if [ -n "${BUILDCTL_ID_FILE:-}" ]; then default_line BUILDCTL_ID_FILE "$ID_FILE"; fi
    printf 'exec %s %s "$@"\n' "$(sh_quote "$NODE")" "$(sh_quote "$link")"
  } >"$tmp"
  chmod 755 "$tmp"
  if [ -f "$target" ] && cmp -s "$tmp" "$target" && [ -x "$target" ]; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$target"
    launchers+=("wrote $target")
  fi
done
if [ "${#launchers[@]}" -eq 0 ]; then
  step 6/7 "launchers buildctl, sm, sendmessages in $BIN: ok, unchanged"
else
  step 6/7 'launchers:'
  printf '      - %s\n' "${launchers[@]}"
fi

# ---- 7. the agent's crontab line ---------------------------------------------------------
if [ "$CRON" -eq 0 ]; then
  step 7/7 'crontab: skipped (--no-cron); "buildctl agent install --systemd" installs a systemd unit instead'
else
  # One implementation of the line, in TypeScript, through the launcher just installed.
  if ! cron_out=$("$BIN/buildctl" --store "$STORE" agent install --cron); then
    die 'could not install the crontab line (see above)' 'install cron and run this again, or run it with --no-cron and use "buildctl agent install --systemd"'
  fi
  if printf '%s\n' "$cron_out" | grep -q 'already has the line'; then
    step 7/7 'crontab line for "buildctl agent --once": ok, unchanged'
  else
    step 7/7 'crontab:'
    printf '%s\n' "$cron_out" | sed 's/^/      /'
  fi
fi

# ---- the session checklist for an AI agent's workspace (--agents-md) -------------------
if [ -n "$AGENTS_MD" ]; then
  if ! agents_out=$("$BIN/buildctl" --store "$STORE" guide --agents-md "$AGENTS_MD"); then
    die "could not write the session checklist to $AGENTS_MD (see above)" 'give a writable directory or file with --agents-md, then run this again'
  fi
  step AGENTS.md "$agents_out"
fi

cat <<EOF

Builder $ID is set up: store $STORE, launchers in $BIN.
Check it:
  $BIN/buildctl status
      the fleet view: $ID turns healthy after the agent's first tick (within a minute)
  tail $STORE.agent.log
      the agent's log, one JSON line per tick
  $BIN/sm all hello from $ID
      a message to every builder
  $BIN/buildctl guide
      the checklist for a session here (an AI agent's or yours); "buildctl mcp" serves
      the same operations to an agent as MCP tools

Unread mail for $ID:
EOF
# As the scripts this replaces did: what is waiting for this builder. Not a failure when the
# remote cannot be reached right now (the list then shows the last known state).
if ! "$BIN/buildctl" --store "$STORE" --as "$ID" msg list 2>&1 | sed 's/^/  /'; then
  printf '  (could not list the mail; run "%s/buildctl msg list")\n' "$BIN"
fi
