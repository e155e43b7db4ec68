"""Statements: which receipts are lines, what they add up to, and every forgery a holder of
the chain catches."""

import random

import pytest

from receipts.canonical import ZERO_HASH
from receipts.statements import (
    Line,
    Period,
    lines_root,
    parse_duration,
    select_lines,
    statement_id,
    totals,
    verify_statement,
)
from receipts.tlog.hashing import EMPTY_ROOT
from receipts.tlog.stored import MemoryHashes, tree_hash
from tests.statements.chains import close, resign, signed_chain
from tests.verify.forgeries import new_signer

OCT, NOV, DEC = "2026-10", "2026-11", "2026-12"
OCT_CLOSE, NOV_CLOSE = "2026-11-01T01:00:00Z", "2026-12-01T01:00:00Z"


@pytest.fixture(scope="module")
def chain(signer):
    """Event time, processing time, amount: an October charge, two of November (one at its
    last instant), an October charge that arrived after October closed (late on November),
    a December event processed before November closed (December's), and one processed after
    the November close."""
    return signed_chain(
        signer,
        "cust_s",
        [
            ("2026-10-20T10:00:00Z", "2026-10-20T10:00:01Z", "1.00"),
            ("2026-11-02T10:00:00Z", "2026-11-02T10:00:01Z", "2.00"),
            ("2026-10-31T23:59:59.999Z", "2026-11-05T00:00:00Z", "4.00"),
            ("2026-11-30T23:59:59.5Z", "2026-11-30T23:59:59.9Z", "8.00"),
            ("2026-12-01T00:00:00Z", "2026-12-01T00:00:30Z", "16.00"),
            ("2026-11-15T00:00:00Z", "2026-12-01T02:00:00Z", "32.00"),
        ],
    )


def test_periods_parse_strictly_and_step_over_years():
    period = Period.parse("2026-12")
    assert (period.start, period.end) == ("2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z")
    assert str(period.next()) == "2027-01" and str(Period.parse("2027-01").previous()) == "2026-12"
    for bad in ("2026-13", "2026-00", "2026-1", "26-11", "2026-11 ", "２０２６-11", "1999-12", "9999-12", None, 202611):
        with pytest.raises(ValueError):
            Period.parse(bad)
    assert statement_id("c", "2026-11") == statement_id("c", Period.parse("2026-11")) != statement_id("c", "2026-10")
    assert parse_duration("1h").total_seconds() == 3600 and parse_duration("90s").total_seconds() == 90
    for bad in ("1", "h", "-1h", "1.5h", "1w", ""):
        with pytest.raises(ValueError):
            parse_duration(bad)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 64, 100])
def test_lines_root_is_the_rfc6962_tree_hash(size):
    hashes = [bytes([n % 256, n // 256]).hex().ljust(64, "0") for n in range(size)]
    memory = MemoryHashes()
    memory.append(bytes.fromhex(text) for text in hashes)
    assert lines_root(hashes) == tree_hash(size, memory).hex()
    assert lines_root([]) == EMPTY_ROOT.hex()


def test_each_receipt_lands_on_its_period_or_the_next_close_marked_late(signer, jwks, chain):
    october = close(signer, "cust_s", OCT, OCT_CLOSE, chain)
    assert (october["closing_sequence"], october["line_count"]) == (1, 1)
    november = close(signer, "cust_s", NOV, NOV_CLOSE, chain, october)
    # Sequences 2 and 4 are November's, 3 is October's late; 5 is December's; 6 came after the close.
    assert (november["closing_sequence"], november["line_count"]) == (5, 3)
    usd = november["totals"]["USD"]
    assert usd == {
        "charged": "14.00",
        "credited": "0.00",
        "net": "14.00",
        "accepted": 3,
        "rejected": 0,
        "late_lines": 1,
        "late_net": "4.00",
    }
    assert november["previous_statement_hash"] == october["statement_hash"]
    assert november["closing_receipt_hash"] == chain[4]["receipt_hash"]
    result = verify_statement(november, jwks, chain, october)
    assert result.ok, result.failures
    assert verify_statement(october, jwks, chain).ok


def test_a_customer_with_nothing_in_the_period_gets_an_empty_statement(signer, jwks, chain):
    statement = close(signer, "cust_s", "2026-09", "2026-10-01T01:00:00Z", chain)
    assert (statement["closing_sequence"], statement["line_count"], statement["totals"]) == (0, 0, {})
    assert statement["closing_receipt_hash"] == ZERO_HASH and statement["lines_root"] == EMPTY_ROOT.hex()
    assert verify_statement(statement, jwks, chain).ok


def test_closing_twice_gives_the_same_bytes(signer, chain):
    assert close(signer, "cust_s", NOV, NOV_CLOSE, chain) == close(signer, "cust_s", NOV, NOV_CLOSE, chain)


def _failed(result) -> list[str]:
    return [check.check for check in result.failures]


def test_forged_statements_are_caught(signer, jwks, chain):
    october = close(signer, "cust_s", OCT, OCT_CLOSE, chain)
    november = close(signer, "cust_s", NOV, NOV_CLOSE, chain, october)
    totals_forged = {**november["totals"], "USD": {**november["totals"]["USD"], "net": "13.00"}}
    assert _failed(verify_statement(resign(signer, november, totals=totals_forged), jwks, chain, october)) == ["totals"]
    # A line left out: the count and root of the other lines, and totals without it.
    kept = [chain[1], chain[3]]
    fewer = resign(
        signer,
        november,
        line_count=2,
        lines_root=lines_root(r["receipt_hash"] for r in kept),
        totals=totals(Line(r["sequence"], r["receipt_hash"], False, r) for r in kept),
    )
    assert _failed(verify_statement(fewer, jwks, chain, october)) == ["lines", "totals"]
    # A line of another period (December's sequence 5) held as November's.
    extra = [chain[1], chain[2], chain[3], chain[4]]
    more = resign(signer, november, line_count=4, lines_root=lines_root(r["receipt_hash"] for r in extra))
    assert "lines" in _failed(verify_statement(more, jwks, chain, october))
    # The close moved back past a receipt it holds, or forward past one processed after it.
    assert "closing" in _failed(
        verify_statement(resign(signer, november, closed_at="2026-12-01T00:00:10Z"), jwks, chain, october)
    )
    wrong_head = resign(signer, november, closing_receipt_hash=chain[3]["receipt_hash"])
    assert "closing" in _failed(verify_statement(wrong_head, jwks, chain, october))
    # Not linked to the statement before it.
    assert _failed(
        verify_statement(november, jwks, chain, close(signer, "cust_s", "2026-09", "2026-10-01T01:00:00Z", chain))
    ) == ["previous_statement"]
    # Signed by a key that is not ours; a receipt's JWS type; a statement hash that is not its payload's.
    assert "signature" in _failed(verify_statement(resign(new_signer(), november), jwks, chain, october))
    assert "hash" in _failed(verify_statement({**november, "statement_hash": "0" * 64}, jwks, chain, october))
    # An exported field edited after signing.
    assert "canonical" in _failed(verify_statement({**november, "line_count": 2}, jwks, chain, october))


def test_a_receipt_jws_is_not_a_statement(jwks, chain):
    receipt = chain[0]
    result = verify_statement({**receipt, "statement_hash": receipt["receipt_hash"]}, jwks)
    assert "signature" in _failed(result) and "contract" in _failed(result)


def test_a_tampered_chain_is_refused(signer, jwks, chain):
    november = close(signer, "cust_s", NOV, NOV_CLOSE, chain)
    tampered = [dict(r) for r in chain]
    tampered[1]["amount"] = "1.00"
    assert _failed(verify_statement(november, jwks, tampered)) == ["chain"]
    assert _failed(verify_statement(november, jwks, chain[:4])) == ["chain"]  # ends before the close
    assert _failed(verify_statement(november, jwks, chain[1:])) == ["chain"]  # does not start at 1


def test_credits_and_rejections_add_up_per_currency():
    def line(amount, currency="USD", status="accepted", kind="charge", late=False):
        body = {"v": 2, "amount": amount, "currency": currency, "status": status, "type": kind}
        return Line(1, "0" * 64, late, body)

    lines = [
        line("10.00"),
        line("2.50", kind="credit"),
        line("1.00", status="rejected"),
        line("300", "JPY"),
        line("7.00", kind="credit", late=True),
    ]
    assert totals(lines) == {
        "JPY": {
            "charged": "300",
            "credited": "0",
            "net": "300",
            "accepted": 1,
            "rejected": 0,
            "late_lines": 0,
            "late_net": "0",
        },
        "USD": {
            "charged": "10.00",
            "credited": "9.50",
            "net": "0.50",
            "accepted": 3,
            "rejected": 1,
            "late_lines": 1,
            "late_net": "-7.00",
        },
    }


def test_every_receipt_is_on_exactly_one_statement_whatever_the_timing(signer):
    """Random event and processing times over four months, closed in order: each receipt is
    on one statement, or on none yet when it came after the last close or is of a later period."""
    rng = random.Random(7)
    periods = ["2026-08", "2026-09", "2026-10", "2026-11"]
    closes = ["2026-09-01T00:30:00Z", "2026-10-01T00:30:00Z", "2026-11-01T00:30:00Z", "2026-12-01T00:30:00Z"]
    steps, processed = [], 0
    for _ in range(60):
        processed += rng.randint(1, 3 * 86400)
        month, day = divmod(processed // 86400, 30)
        when = f"2026-{8 + min(month, 4):02d}-{1 + day % 28:02d}T{processed % 86400 // 3600:02d}:00:00Z"
        event_month = max(8, 8 + month - rng.choice([0, 0, 0, 1, 2]))
        event = f"2026-{min(event_month, 12):02d}-{rng.randint(1, 28):02d}T12:00:00Z"
        steps.append((event, when, "1.00"))
    chain = signed_chain(signer, "cust_r", steps)
    on: dict[int, list[str]] = {}
    previous = None
    for period, closed_at in zip(periods, closes, strict=True):
        statement = close(signer, "cust_r", period, closed_at, chain, previous)
        for line in select_lines(
            chain, Period.parse(period), statement["closing_sequence"], statement["previous_closing_sequence"]
        ):
            on.setdefault(line.sequence, []).append(period)
        previous = statement
    last_close = previous["closing_sequence"]
    for receipt in chain:
        places = on.get(receipt["sequence"], [])
        if receipt["sequence"] <= last_close and receipt["event_timestamp"] < "2026-12":
            assert len(places) == 1, (receipt["sequence"], places)
        else:
            assert places == []
