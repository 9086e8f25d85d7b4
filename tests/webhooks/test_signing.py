"""The signature a receiver checks: a known vector (computed with openssl, not with this code),
and the README's verification example run against what the portal sends."""

import re
from pathlib import Path

from webhooks import signing

SECRET = "whsec_known-vector-secret"
PAYLOAD = {
    "type": "request.state_changed",
    "id": "0b7e3f6a-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
    "data": {"state": "reviewed", "reference": "FR-000001"},
}
# printf '1700000000.<body>' | openssl dgst -sha256 -hmac whsec_known-vector-secret
KNOWN = "v1=b5e033664952299ab6fe5c2d5892086963918b3c64afc9f92dfaefc65093757c"
README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_body_is_compact_sorted_json_and_its_signature_is_the_known_vector():
    body = signing.body_of(PAYLOAD)
    assert body == (
        b'{"data":{"reference":"FR-000001","state":"reviewed"},'
        b'"id":"0b7e3f6a-1c2d-4e5f-8a9b-0c1d2e3f4a5b","type":"request.state_changed"}'
    )
    assert signing.signature(SECRET, 1700000000, body) == KNOWN


def test_the_signature_changes_with_the_timestamp_the_body_and_the_secret():
    body = signing.body_of(PAYLOAD)
    assert signing.signature(SECRET, 1700000001, body) != KNOWN
    assert signing.signature(SECRET, 1700000000, body + b" ") != KNOWN
    assert signing.signature(SECRET + "x", 1700000000, body) != KNOWN


def test_the_headers_name_the_event_and_carry_the_signature():
    body = signing.body_of(PAYLOAD)
    sent = signing.headers(event_id=PAYLOAD["id"], secret=SECRET, timestamp=1700000000, body=body)
    assert sent["Webhook-Id"] == PAYLOAD["id"]
    assert sent["Webhook-Timestamp"] == "1700000000"
    assert sent["Webhook-Signature"] == KNOWN
    assert sent["Content-Type"] == "application/json"


def test_each_new_secret_is_long_and_different():
    first, second = signing.new_secret(), signing.new_secret()
    assert first != second
    assert first.startswith("whsec_") and len(first) >= 40


def test_the_readme_example_verifies_a_signed_body_and_refuses_a_changed_one():
    text = README.read_text()
    example = re.search(r"```python\n(import hashlib, hmac.*?def verify.*?)```", text, re.S)
    assert example, "README's API section has the verification example"
    namespace: dict = {}
    exec(example[1], namespace)  # noqa: S102 (our own README's example)
    verify = namespace["verify"]
    body = signing.body_of(PAYLOAD)
    headers = {"Webhook-Timestamp": "1700000000", "Webhook-Signature": KNOWN}
    assert verify(SECRET, headers, body, now=1700000060)
    assert not verify(SECRET, headers, body + b"x", now=1700000060)
    assert not verify(SECRET + "x", headers, body, now=1700000060)
    assert not verify(SECRET, headers, body, now=1700000000 + 3600)  # an old capture
