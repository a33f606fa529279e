import hashlib
import json

from strongroom.policy.policyhash import canonical_policy, policy_hash

from .builders import safe

# Computed once from the canonical form below; it must never change for the same Safe.
PINNED = "1c4701bccf5b3660"


def test_the_hash_is_sixteen_hex_digits_and_the_same_every_time() -> None:
    digest = policy_hash(safe())
    assert len(digest) == 16 and int(digest, 16) >= 0
    assert policy_hash(safe()) == digest


def test_defaults_written_out_hash_like_defaults_left_out() -> None:
    explicit = safe(
        policy={
            "allowedNamespaces": {"names": ["team"]},
            "requiredApprovals": 1,
            "defaultDuration": "60m",
            "approvalTimeout": "24h",
        }
    )
    assert policy_hash(explicit) == policy_hash(safe())


def test_words_that_decide_nothing_do_not_change_the_hash() -> None:
    assert policy_hash(safe(description="new words")) == policy_hash(safe())
    blocked = policy_hash(safe(blocked=True, blockedReason="audit"))
    assert policy_hash(safe(blocked=True, blockedReason="another reason")) == blocked


def test_every_deciding_change_changes_the_hash() -> None:
    base = policy_hash(safe())
    changed = [
        safe(blocked=True, blockedReason="x"),
        safe(members=[{"users": ["alice", "erin"]}]),
        safe(approvers={"users": ["bob"]}),
        safe(policy={"allowedNamespaces": {"names": ["team"]}, "maxDuration": "8h"}),
        safe(
            schedules=[{"name": "s", "timeZone": "UTC", "windows": [{"days": ["Mon"], "from": "00:00", "to": "01:00"}]}]
        ),
    ]
    assert all(policy_hash(spec) != base for spec in changed)


def test_the_canonical_form_is_compact_sorted_json_keeping_non_ascii_and_the_hash_is_its_sha256() -> None:
    spec = safe(members=[{"users": ["zoë"]}], approvers={"users": ["bob"]})
    text = canonical_policy(spec)
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "zoë" in text and " " not in text
    assert set(data) == {"approvers", "blocked", "members", "policy", "schedules"}
    assert "allowedNamespaces" in data["policy"] and "null" not in text  # wire names; unset fields left out
    assert policy_hash(spec) == hashlib.sha256(text.encode()).hexdigest()[:16]


def test_the_hash_of_a_known_safe_does_not_change_between_releases() -> None:
    # Requests record this hash; a change in the canonical form would make every old one look stale.
    assert canonical_policy(safe()).startswith('{"approvers":{"groups":["dba-leads"],"users":["bob","carol"]}')
    assert policy_hash(safe()) == PINNED
