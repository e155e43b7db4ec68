"""BucketArchive.write_once decides by what the bucket's metadata says it holds, never by
downloading an object that has a hash of its bytes, including when an object appears
between the look-up and the create (no emulator needed: the bucket calls are faked)."""

import base64
import hashlib

from receipts.stores.gcp.bucket_archive import SHA256_KEY, ArchiveOutcome, BucketArchive, BucketPath, HeldObject

OURS = b'{"receipt_id":"r_1"}\n'
OTHER = b'{"receipt_id":"r_2"}\n'


class FakeBucket(BucketArchive):
    """Objects as (bytes, custom metadata); every call recorded. With `racing`, another writer
    creates `name` with those bytes right after our first look-up."""

    def __init__(self, racing: dict[str, bytes] | None = None) -> None:  # no client: these calls stand in
        self.path = BucketPath("bucket", "receipts")
        self.held: dict[str, tuple[bytes, dict[str, str]]] = {}
        self.racing = dict(racing or {})
        self.calls: list[tuple[str, str]] = []

    def put(self, name: str, data: bytes, metadata: dict[str, str] | None = None) -> None:
        self.held[name] = (data, metadata or {})

    def _metadata(self, name: str) -> HeldObject | None:
        self.calls.append(("metadata", name))
        found = self.held.get(name)
        if name in self.racing:
            theirs = self.racing.pop(name)
            self.put(name, theirs, {SHA256_KEY: hashlib.sha256(theirs).hexdigest()})
        if found is None:
            return None
        data, metadata = found
        md5 = base64.b64encode(hashlib.md5(data).digest()).decode() if "composite" not in metadata else None
        return HeldObject(len(data), metadata.get(SHA256_KEY), md5)

    def _download(self, name: str) -> bytes | None:
        self.calls.append(("download", name))
        return self.held[name][0] if name in self.held else None

    def _create(self, name: str, data: bytes, digest: str) -> bool:
        self.calls.append(("create", name))
        if name in self.held:
            return False  # generation precondition failed
        self.put(name, data, {SHA256_KEY: digest})
        return True

    @property
    def downloads(self) -> int:
        return sum(call == "download" for call, _ in self.calls)


def test_a_new_object_is_looked_up_then_created_with_the_sha256_of_its_bytes() -> None:
    bucket = FakeBucket()
    assert bucket.write_once("w/1.jsonl", OURS) == (ArchiveOutcome.WRITTEN, "w/1.jsonl")
    assert bucket.calls == [("metadata", "w/1.jsonl"), ("create", "w/1.jsonl")]
    assert bucket.held["w/1.jsonl"] == (OURS, {SHA256_KEY: hashlib.sha256(OURS).hexdigest()})


def test_a_replay_asks_the_metadata_only_and_downloads_nothing() -> None:
    bucket = FakeBucket()
    bucket.write_once("w/1.jsonl", OURS)
    bucket.calls.clear()
    for _ in range(3):
        assert bucket.write_once("w/1.jsonl", OURS) == (ArchiveOutcome.ALREADY_ARCHIVED, "w/1.jsonl")
    assert bucket.calls == [("metadata", "w/1.jsonl")] * 3
    assert bucket.downloads == 0


def test_the_same_bytes_written_meanwhile_are_already_archived_not_written_aside() -> None:
    bucket = FakeBucket(racing={"w/1.jsonl": OURS})
    assert bucket.write_once("w/1.jsonl", OURS) == (ArchiveOutcome.ALREADY_ARCHIVED, "w/1.jsonl")
    assert list(bucket.held) == ["w/1.jsonl"]  # no second copy beside it
    assert bucket.calls == [("metadata", "w/1.jsonl"), ("create", "w/1.jsonl"), ("metadata", "w/1.jsonl")]
    assert bucket.downloads == 0


def test_other_bytes_written_meanwhile_send_ours_aside() -> None:
    bucket = FakeBucket(racing={"w/1.jsonl": OTHER})
    outcome, aside = bucket.write_once("w/1.jsonl", OURS)
    assert outcome is ArchiveOutcome.WRITTEN_ASIDE and aside == f"w/1-{hashlib.sha256(OURS).hexdigest()[:16]}.jsonl"
    assert bucket.held[aside][0] == OURS and bucket.held["w/1.jsonl"][0] == OTHER
    assert bucket.downloads == 0


def test_other_bytes_already_there_send_ours_aside_once_and_a_replay_finds_them_there() -> None:
    bucket = FakeBucket()
    bucket.put("w/1.jsonl", OTHER, {SHA256_KEY: hashlib.sha256(OTHER).hexdigest()})
    outcome, aside = bucket.write_once("w/1.jsonl", OURS)
    assert outcome is ArchiveOutcome.WRITTEN_ASIDE
    assert bucket.write_once("w/1.jsonl", OURS) == (ArchiveOutcome.WRITTEN_ASIDE, aside)  # create refused, same hash
    assert len(bucket.held) == 2 and bucket.downloads == 0


def test_an_object_of_an_older_release_is_compared_by_its_md5_not_downloaded() -> None:
    bucket = FakeBucket()
    bucket.put("old/1.jsonl", OURS)  # no sha256 metadata: Cloud Storage's MD5 only
    assert bucket.write_once("old/1.jsonl", OURS) == (ArchiveOutcome.ALREADY_ARCHIVED, "old/1.jsonl")
    bucket.put("old/2.jsonl", OTHER)
    assert bucket.write_once("old/2.jsonl", OURS)[0] is ArchiveOutcome.WRITTEN_ASIDE
    assert bucket.downloads == 0


def test_an_object_with_no_hash_at_all_is_downloaded_to_compare() -> None:
    bucket = FakeBucket()
    bucket.put("odd/1.jsonl", OURS, {"composite": "yes"})  # a composite object has no MD5
    assert bucket.write_once("odd/1.jsonl", OURS) == (ArchiveOutcome.ALREADY_ARCHIVED, "odd/1.jsonl")
    assert bucket.downloads == 1


def test_a_size_that_differs_settles_it_before_any_hash() -> None:
    held = HeldObject(len(OURS) + 1, hashlib.sha256(OURS).hexdigest(), None)
    assert held.same_as(OURS, hashlib.sha256(OURS).hexdigest()) is False
    assert HeldObject(None, None, None).same_as(OURS, "") is None
