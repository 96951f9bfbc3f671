#!/usr/bin/env bash
# Rebuilds tests/corpus/: our fragment of every copy of the upstream spec that
# the Atlas CLI vendored, one directory per change of the fragment.
#
# Walks the history of tools/internal/specs/spec.yaml in a git copy of
# mongodb/mongodb-atlas-cli (oldest first, commits dated 2025-03-01 or later),
# runs `cargo xtask regen --from <that file> --ops <spec/operations>` into a
# scratch spec dir for each commit, and keeps the commit's fragment when it
# differs from the last one kept but for `info` (whose x-xgen-sha and prose
# change with every upstream build). Each kept commit becomes
# tests/corpus/<commit date>-<first 8 of commit>/ with
#   openapi.json     what regen extracted, byte for byte;
#   provenance.json  regen's provenance, with source.file the path in the CLI
#                    repository and source.repository, .commit, .commit_date.
# A directory whose files are unchanged but for provenance's extracted_on is
# left as it is. xtask/tests/corpus.rs checks and builds the corpus.
#
#   bash scripts/corpus.sh [--check] [--ops a,b,c] [<git dir of the CLI>]
#   ATLAS_CLI_GIT=/work/.mirror/mongodb+mongodb-atlas-cli/repo bash scripts/corpus.sh
#
# The git dir may be bare (a mirror) or a work tree's; HEAD's history is read.
# --check  writes nothing; when tests/corpus/ is not what this script makes,
#          says which releases differ and the command that fixes it, exit 1.
# --ops    extract these operations instead of those spec/operations lists.
#
# Needs bash 4, git, jq and cargo. A run takes about a minute for ~50 commits.
set -euo pipefail

readonly SPEC_PATH='tools/internal/specs/spec.yaml'
readonly REPOSITORY='mongodb/mongodb-atlas-cli'
readonly SINCE='2025-03-01'

check=false
ops=''
ops_arg=''
git_dir="${ATLAS_CLI_GIT:-}"
while (($#)); do
  case "$1" in
    --check) check=true ;;
    --ops) ops="${2:?--ops needs a comma-separated list}"; ops_arg=" --ops $ops"; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "error: unknown option $1; see --help" >&2; exit 2 ;;
    *) git_dir="$1" ;;
  esac
  shift
done
[[ -n "$git_dir" ]] || { echo "error: name the Atlas CLI's git dir (argument or ATLAS_CLI_GIT)" >&2; exit 2; }
git_dir=$(cd "$git_dir" && pwd)
for tool in git jq cargo; do
  command -v "$tool" >/dev/null || { echo "error: $tool is needed" >&2; exit 2; }
done

cd "$(dirname "$0")/.."
root=$(pwd)
if [[ -z "$ops" ]]; then
  # spec/operations: one operation a line, # comments.
  ops=$(grep -v '^[[:space:]]*\(#\|$\)' spec/operations | tr -d '[:blank:]' | paste -sd, -)
fi
[[ -n "$ops" ]] || { echo "error: no operations selected" >&2; exit 2; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/corpus"

# One build, then the binary: cargo would otherwise check freshness per commit.
cargo build --quiet --package xtask
xtask="${CARGO_TARGET_DIR:-$root/target}/debug/xtask"

# The fragment but for info, canonical, to compare releases.
body() { jq -S 'del(.info)' "$1"; }

last_body=''
kept=0
seen=0
while read -r commit date; do
  [[ "$date" < "$SINCE" ]] && continue
  seen=$((seen + 1))
  git --git-dir="$git_dir" show "$commit:$SPEC_PATH" >"$scratch/spec.yaml"
  rm -rf "$scratch/out"
  if ! "$xtask" regen --from "$scratch/spec.yaml" --ops "$ops" --spec-dir "$scratch/out" >"$scratch/regen.log" 2>&1; then
    echo "error: regen of $commit ($date) failed:" >&2
    cat "$scratch/regen.log" >&2
    exit 1
  fi
  this_body=$(body "$scratch/out/openapi.json")
  [[ "$this_body" == "$last_body" ]] && continue
  last_body="$this_body"
  kept=$((kept + 1))
  dir="$scratch/corpus/$date-${commit:0:8}"
  mkdir "$dir"
  cp "$scratch/out/openapi.json" "$dir/openapi.json"
  jq --arg file "$SPEC_PATH" --arg repository "$REPOSITORY" \
    --arg commit "$commit" --arg date "$date" \
    '.source.file = $file
     | .source += {repository: $repository, commit: $commit, commit_date: $date}' \
    "$scratch/out/provenance.json" >"$dir/provenance.json"
done < <(git --git-dir="$git_dir" log --reverse --format='%H %cs' HEAD -- "$SPEC_PATH")

# A release is named <date>-<8 hex>; anything else in tests/corpus is not ours.
releases_in() { find "$1" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended \
  -regex '.*/[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9a-f]{8}' -printf '%f\n' | sort; }
same_but_date() { cmp -s <(jq 'del(.extracted_on)' "$1") <(jq 'del(.extracted_on)' "$2"); }
unchanged() { # <new release dir> <old release dir>
  [[ -d "$2" ]] && cmp -s "$1/openapi.json" "$2/openapi.json" \
    && same_but_date "$1/provenance.json" "$2/provenance.json" \
    && [[ "$(ls "$2")" == "$(ls "$1")" ]]
}

mkdir -p tests/corpus
mapfile -t new < <(releases_in "$scratch/corpus")
mapfile -t old < <(releases_in tests/corpus)
differ=()
for name in "${new[@]}"; do
  unchanged "$scratch/corpus/$name" "tests/corpus/$name" || differ+=("$name")
done
gone=()
for name in "${old[@]}"; do
  [[ -d "$scratch/corpus/$name" ]] || gone+=("$name")
done

echo "$seen commit(s) of $SPEC_PATH since $SINCE; $kept release(s) with a fragment of their own (ops: $ops)"
if $check; then
  if ((${#differ[@]} + ${#gone[@]} == 0)); then
    echo "tests/corpus is up to date"
    exit 0
  fi
  for name in "${differ[@]}"; do echo "  new or changed: $name" >&2; done
  for name in "${gone[@]}"; do echo "  no longer a release: $name" >&2; done
  echo "error: tests/corpus is stale; run \`bash scripts/corpus.sh$ops_arg $git_dir\`" >&2
  exit 1
fi
for name in "${gone[@]}"; do rm -rf "tests/corpus/$name"; done
for name in "${differ[@]}"; do
  rm -rf "tests/corpus/$name"
  cp -r "$scratch/corpus/$name" "tests/corpus/$name"
done
echo "wrote ${#differ[@]} release(s), removed ${#gone[@]}, kept $((${#new[@]} - ${#differ[@]})) unchanged"
