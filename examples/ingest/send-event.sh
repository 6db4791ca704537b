#!/bin/sh
# Sends one event (an agent's daily `qontak_agent_active` heartbeat) to Actionpulse's HTTP ingest, signed with
# HMAC-SHA256: header X-Actionpulse-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>.
# Needs curl, openssl and GNU date. Prints the HTTP status and the JSON answer (202 {"accepted":1,...}).
#
#   ACTIONPULSE_URL=http://127.0.0.1:8080 INGEST_SOURCE=ruby-runtime INGEST_SECRET=... \
#   ORGANIZATION_ID=org-42 AGENT_ID=agent-7 sh examples/ingest/send-event.sh
set -eu
: "${ACTIONPULSE_URL:?}" "${INGEST_SOURCE:?}" "${INGEST_SECRET:?}" "${ORGANIZATION_ID:?}" "${AGENT_ID:?}"

now_ms=$(date +%s%3N)
# event_id is a UUIDv7: 48-bit millisecond time, version 7, variant 10, random bits.
rand=$(od -An -N10 -tx1 /dev/urandom | tr -d ' \n')
ts=$(printf '%012x' "$now_ms")
variant=$(printf '%x' $(( (0x$(echo "$rand" | cut -c4) & 3) | 8 )))
event_id="$(echo "$ts" | cut -c1-8)-$(echo "$ts" | cut -c9-12)-7$(echo "$rand" | cut -c1-3)-${variant}$(echo "$rand" | cut -c5-7)-$(echo "$rand" | cut -c9-20)"

body=$(printf '{"event":"qontak_agent_active","event_id":"%s","schema_version":1,"timestamp":%s,"source":"%s","organization_id":"%s","agent_id":"%s"}' \
  "$event_id" "$now_ms" "$INGEST_SOURCE" "$ORGANIZATION_ID" "$AGENT_ID")
t=$((now_ms / 1000))
signature=$(printf '%s.%s' "$t" "$body" | openssl dgst -sha256 -hmac "$INGEST_SECRET" -r | cut -d' ' -f1)

curl -sS -X POST "$ACTIONPULSE_URL/v1/events" \
  -H 'content-type: application/json' \
  -H "X-Actionpulse-Signature: t=$t,v1=$signature" \
  --data-binary "$body" \
  -w '\n%{http_code}\n'
