"""API keys: issued once, stored as a hash, checked in constant time; the CLI commands and
the demo's reusable key."""

import hashlib
import os
import stat
from pathlib import Path

from click.testing import CliRunner

from receipts.api_keys import KEY_PATTERN, authenticate, issue_api_key, key_id_of
from receipts.stores.sqlite import SqliteStore
from receipts_cli.demo import DEMO_KEY_FILE, demo_api_key
from receipts_cli.home import Home
from receipts_cli.main import main


def store_at(folder: Path) -> SqliteStore:
    return SqliteStore(f"sqlite:///{folder / 'receipts.db'}")


def test_a_key_is_stored_only_as_its_hash(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    key, record = issue_api_key(store, "cust_1")
    assert KEY_PATTERN.fullmatch(key) and key_id_of(key) == record.key_id
    assert record.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key.encode() not in (tmp_path / "receipts.db").read_bytes()
    assert authenticate(store, key) == record


def test_authentication_refuses_wrong_unknown_and_revoked_keys(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    key, record = issue_api_key(store, "cust_1")
    assert authenticate(store, key[:-2] + "zz") is None
    assert authenticate(store, "sk_0000000000000000_" + key[-43:]) is None
    assert authenticate(store, "") is None and authenticate(store, "sk_" + "é" * 60) is None
    assert store.revoke_api_key(record.key_id, "2026-01-26T00:00:00Z")
    assert not store.revoke_api_key(record.key_id, "2026-01-27T00:00:00Z")  # once
    assert store.api_key(record.key_id).revoked_at == "2026-01-26T00:00:00Z"
    assert authenticate(store, key) is None


def test_keys_are_listed_per_customer(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    ids = [issue_api_key(store, customer)[1].key_id for customer in ("a", "b", "a")]
    assert {record.key_id for record in store.api_keys("a")} == {ids[0], ids[2]}
    assert len(store.api_keys()) == 3


def invoke(home: Path, *args: str):
    return CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)


def test_cli_create_prints_the_key_once_then_list_and_revoke(home: Path) -> None:
    created = invoke(home, "api-keys", "create", "--customer", "cust_acme")
    assert created.exit_code == 0
    key = created.stdout.strip()
    assert KEY_PATTERN.fullmatch(key) and "shown only now" in created.stderr
    key_id = key_id_of(key)
    listed = invoke(home, "api-keys", "list")
    assert key_id in listed.stdout and "cust_acme" in listed.stdout and "active" in listed.stdout
    assert key not in listed.stdout
    revoked = invoke(home, "api-keys", "revoke", key_id)
    assert revoked.exit_code == 0 and f"Revoked API key {key_id}" in revoked.stderr
    assert "already revoked" in invoke(home, "api-keys", "revoke", key_id).stderr
    assert authenticate(store_at(home), key) is None


def test_cli_refuses_a_bad_customer_and_an_unknown_key_id(home: Path) -> None:
    bad = invoke(home, "api-keys", "create", "--customer", "no spaces")
    assert bad.exit_code == 2 and "[A-Za-z0-9_-]{1,64}" in bad.output
    unknown = invoke(home, "api-keys", "revoke", "0123456789abcdef")
    assert unknown.exit_code == 1 and "no API key 0123456789abcdef" in unknown.output


def test_the_demo_key_is_kept_private_and_reused_until_revoked(home: Path) -> None:
    store = store_at(home)
    key, reused = demo_api_key(Home(home), store)
    assert not reused and authenticate(store, key).customer_id == "cust_acme"
    path = home / DEMO_KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and path.read_text().strip() == key
    assert demo_api_key(Home(home), store) == (key, True)
    assert len(store.api_keys()) == 1
    store.revoke_api_key(key_id_of(key), "2026-01-26T00:00:00Z")
    replacement, reused = demo_api_key(Home(home), store)
    assert not reused and replacement != key and path.read_text().strip() == replacement


def test_concurrent_demos_on_one_home_print_one_key_the_store_holds(home: Path, monkeypatch) -> None:
    """Two demos ask for the key at once: the second arrives while the first is issuing
    (after it found no key in the home). Both must print the same key, the store's, kept in
    the home. The first waits until the second has reached the home's lock (or, without a
    lock, issuing a key of its own), so the interleaving is the same on every run."""
    import fcntl
    import threading

    import receipts_cli.demo

    first: list[int] = []
    issuing, second_arrived = threading.Event(), threading.Event()
    real_issue, real_flock = receipts_cli.demo.issue_api_key, fcntl.flock

    def issue(store, customer):
        if not first:
            first.append(threading.get_ident())
            issuing.set()
            assert second_arrived.wait(timeout=60), "the second demo never asked for a key"
        else:
            second_arrived.set()
        return real_issue(store, customer)

    def flock(handle, operation):
        if first and threading.get_ident() != first[0] and operation & fcntl.LOCK_EX:
            second_arrived.set()
        return real_flock(handle, operation)

    monkeypatch.setattr(receipts_cli.demo, "issue_api_key", issue)
    monkeypatch.setattr(fcntl, "flock", flock)
    printed: dict[str, tuple[str, bool]] = {}

    def demo(name: str) -> None:
        printed[name] = demo_api_key(Home(home), store_at(home))  # each run its own connection

    runs = [threading.Thread(target=demo, args=(name,)) for name in ("first", "second")]
    runs[0].start()
    assert issuing.wait(timeout=60)
    runs[1].start()
    for run in runs:
        run.join(timeout=60)
    store = store_at(home)
    assert printed["first"] == (printed["second"][0], False) and printed["second"][1] is True
    key = printed["first"][0]
    assert authenticate(store, key) is not None and len(store.api_keys()) == 1
    assert (home / DEMO_KEY_FILE).read_text().strip() == key


def test_the_demo_sample_is_replaced_whole_so_a_run_reading_it_sees_one_version(tmp_path: Path) -> None:
    from receipts_cli.sample import write_sample

    path = tmp_path / "demo-events.jsonl"
    write_sample(str(path), 10)
    before = path.read_bytes()
    with open(path, "rb") as reading:  # a pipeline of another demo reading it meanwhile
        write_sample(str(path), 12)
        assert reading.read() == before
    assert path.read_bytes() != before and not list(tmp_path.glob(".*"))
