#!/usr/bin/env bash
# An independent client of `streams local-atlas`: curl, not this crate.
#
# Starts the standalone local Atlas, reads the address and throwaway
# credentials it prints, and creates a Sample, a Kafka and an Https
# connection twice: with the API key (curl's own HTTP Digest) and with a
# bearer token it gets from the token endpoint with the service account.
# Like MongoDB's TypeScript Atlas client, it does not pin a version the spec
# declares: it asks for application/vnd.atlas.2025-03-12+json, which Atlas
# (and the local Atlas) serve with the newest version not after that date.
#
#   bash scripts/local-atlas-client.sh            # builds with cargo
#   STREAMS=path/to/streams bash scripts/local-atlas-client.sh
#
# Needs bash 4 and curl. Exits non-zero, saying why, at the first answer
# that is not what Atlas would send. tests/it/streams_serve.rs runs it
# (an ignored test).
set -euo pipefail

asked='application/vnd.atlas.2025-03-12+json'
served='application/vnd.atlas.2023-02-01+json'

if [[ -z "${STREAMS:-}" ]]; then
  cd "$(dirname "$0")/.."
  cargo build --quiet --features cli --bin streams
  STREAMS="${CARGO_TARGET_DIR:-target}/debug/streams"
fi
command -v curl >/dev/null || { echo "error: curl is needed" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The server's standard input is this coprocess's pipe: closing it (or this
# script dying) stops the server.
coproc SERVER { exec "$STREAMS" local-atlas 2>"$work/server.err"; }
server_pid=$SERVER_PID
while IFS= read -r line <&"${SERVER[0]}"; do
  case "$line" in
    '# ready') break ;;
    MONGODB_ATLAS_BASE_URL=*) base=${line#*=} ;;
    MONGODB_ATLAS_PROJECT_ID=*) project=${line#*=} ;;
    STREAMS_INSTANCE=*) instance=${line#*=} ;;
    MONGODB_ATLAS_PUBLIC_API_KEY=*) public_key=${line#*=} ;;
    MONGODB_ATLAS_PRIVATE_API_KEY=*) private_key=${line#*=} ;;
    MONGODB_ATLAS_CLIENT_ID=*) client_id=${line#*=} ;;
    MONGODB_ATLAS_CLIENT_SECRET=*) client_secret=${line#*=} ;;
  esac
done
for name in base project instance public_key private_key client_id client_secret; do
  [[ -n "${!name:-}" ]] || { echo "error: the server printed no $name" >&2; cat "$work/server.err" >&2; exit 1; }
done
echo "local Atlas at $base, project $project, instance $instance"
url="$base/api/atlas/v2/groups/$project/streams/$instance/connections"

# Credentials go to curl in a config file, not on its command line (the
# process list shows that), even though these are throwaway.
credentials() { # user:password -> a curl config file
  printf 'user = "%s"\n' "$1" >"$work/credentials"
  echo "$work/credentials"
}

# POSTs the connection $2 with curl options $1 (an array name); checks the
# status is 200 and the answer is in the version served, and prints it.
create() {
  local -n auth=$1
  local body=$2 status type
  status=$(curl -sS "${auth[@]}" -o "$work/answer" -w '%{http_code} %{content_type}' \
    -H "Accept: $asked" -H "Content-Type: $asked" --data-binary "$body" "$url")
  type=${status#* }
  status=${status%% *}
  if [[ "$status" != 200 || "$type" != "$served" ]]; then
    echo "error: HTTP $status ($type) for $body: $(cat "$work/answer")" >&2
    exit 1
  fi
  if grep -q 'kafka-password-not-echoed' "$work/answer"; then
    echo "error: the answer holds the Kafka password" >&2
    exit 1
  fi
  echo "  HTTP $status $type: $(cat "$work/answer")"
}

connections() { # the three kinds, names ending in $1
  printf '%s\n' \
    "{\"type\":\"Sample\",\"name\":\"sample_$1\"}" \
    "{\"type\":\"Kafka\",\"name\":\"kafka_$1\",\"bootstrapServers\":\"broker-1:9092\",\"security\":{\"protocol\":\"SASL_SSL\"},\"authentication\":{\"mechanism\":\"PLAIN\",\"username\":\"u\",\"password\":\"kafka-password-not-echoed\"}}" \
    "{\"type\":\"Https\",\"name\":\"https_$1\",\"url\":\"https://example.com/hook\"}"
}

echo "with the API key (HTTP Digest):"
digest=(--digest --config "$(credentials "$public_key:$private_key")")
while IFS= read -r body; do create digest "$body"; done < <(connections digest)

echo "with a bearer token from the service account:"
token_answer=$(curl -sS --fail-with-body --config "$(credentials "$client_id:$client_secret")" \
  -H 'Accept: application/json' -d grant_type=client_credentials "$base/api/oauth/token")
token=$(sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p' <<<"$token_answer")
[[ -n "$token" ]] || { echo "error: no access_token in the token answer" >&2; exit 1; }
printf 'header = "Authorization: Bearer %s"\n' "$token" >"$work/bearer"
bearer=(--config "$work/bearer")
while IFS= read -r body; do create bearer "$body"; done < <(connections bearer)

# A second name taken is refused as Atlas refuses it.
status=$(curl -sS "${bearer[@]}" -o /dev/null -w '%{http_code}' -H "Accept: $asked" \
  -H "Content-Type: $asked" --data-binary '{"type":"Sample","name":"sample_bearer"}' "$url")
[[ "$status" == 409 ]] || { echo "error: a duplicate name got HTTP $status, not 409" >&2; exit 1; }
echo "a duplicate name: HTTP 409"

exec {SERVER[1]}>&-
wait "$server_pid"
cat "$work/server.err"
echo "6 connections created, 3 kinds x 2 authentications, version not pinned"
