#!/usr/bin/env python3
"""Sends a batch of events (one action call: invoked, then executed) to Actionpulse's HTTP ingest, signed with
HMAC-SHA256: header X-Actionpulse-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>.
Standard library only (Python 3.8+). Prints the HTTP status and the JSON answer (202 {"accepted":2,...}).

  ACTIONPULSE_URL=http://127.0.0.1:8080 INGEST_SOURCE=python-runtime INGEST_SECRET=... \
  ORGANIZATION_ID=org-42 AGENT_ID=agent-7 python3 examples/ingest/send_event.py
"""
import hashlib
import hmac
import json
import os
import secrets
import time
import urllib.error
import urllib.request


def uuid7(ms: int) -> str:
    """event_id: a UUIDv7 (48-bit millisecond time, version 7, variant 10, random bits), lowercase."""
    value = (ms & ((1 << 48) - 1)) << 80 | secrets.randbits(80)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # variant
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def main() -> None:
    url, source, secret = os.environ["ACTIONPULSE_URL"], os.environ["INGEST_SOURCE"], os.environ["INGEST_SECRET"]
    organization, agent = os.environ["ORGANIZATION_ID"], os.environ["AGENT_ID"]
    now = int(time.time() * 1000)
    common = {"schema_version": 1, "source": source, "organization_id": organization, "agent_id": agent,
              "node_type": "qontak_crm_ticket_create", "conversation_id": f"conv-py-{now}"}
    events = [
        {"event": "qontak_action_invoked", "event_id": uuid7(now), "timestamp": now, **common},
        {"event": "qontak_action_executed", "event_id": uuid7(now + 180), "timestamp": now + 180, "duration_ms": 180, **common},
    ]
    body = json.dumps(events, separators=(",", ":")).encode()
    t = str(int(time.time()))
    signature = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(f"{url}/v1/events", data=body, method="POST", headers={
        "content-type": "application/json",
        "X-Actionpulse-Signature": f"t={t},v1={signature}",
    })
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            print(response.read().decode())
            print(response.status)
    except urllib.error.HTTPError as error:  # 4xx/5xx still carry a JSON answer
        print(error.read().decode())
        print(error.code)


if __name__ == "__main__":
    main()
