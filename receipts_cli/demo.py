"""What `make demo` shows: sample -> pipeline -> summary -> verification -> next steps."""

from collections import Counter

from rich.table import Table

from receipts.api_keys import authenticate, issue_api_key
from receipts.keys import Jwks
from receipts.records import export_line
from receipts.stores import Store, open_store
from receipts.stores.archives import archived_receipts
from receipts.verify import verify_chain
from receipts_cli.console import print_run_summary, report_verification, run_pipeline
from receipts_cli.home import Home, write_atomically
from receipts_cli.sample import DEMO_ENTITLEMENTS, write_sample
from receipts_cli.terminal import out, shown


def run_demo(home: Home, events_per_customer: int, emulators: bool = False) -> int:
    """The demo on the embedded store (batch), or with `emulators` through Pub/Sub and the
    streaming job into Spanner, Firestore and Cloud Storage on the local emulators."""
    console = out
    home.root.mkdir(parents=True, exist_ok=True)
    if emulators:
        from receipts_cli.demo_cloud import prepare_emulators

        home = prepare_emulators(home, console)
    events = home.root / "demo-events.jsonl"
    count = write_sample(str(events), events_per_customer)
    console.rule("Verifiable billing receipts: demo" + (" on the Google Cloud emulators" if emulators else ""))
    console.print(
        f"Wrote {count} sample messages to {shown(events)}: 5 customers in USD, EUR, JPY, GBP and BHD, "
        "producer retries, an idempotency conflict, a quota overrun and malformed lines."
    )
    store = open_store(home.store_url)
    replay = next(store.receipts(), None) is not None
    for cap in DEMO_ENTITLEMENTS:
        store.set_entitlement(cap)
        console.print(
            f"Entitlement {shown(cap.entitlement_id)} of {shown(cap.customer_id)}: limit {cap.limit} {cap.currency}."
        )
    if replay:
        console.print("[yellow]This home already has receipts: the same events again must add nothing.[/]")
    if emulators:
        from receipts_cli.demo_cloud import stream_until_done

        print_run_summary(stream_until_done(home, events, console))
    else:
        from receipts_cli.demo_witness import local_witness
        from receipts_cli.log import checkpoint_line

        with local_witness(home) as witnessed:
            print_run_summary(run_pipeline(witnessed, str(events)))
            console.print(shown(checkpoint_line(witnessed, store) or "The transparency log has no checkpoint yet."))

    receipts = list(store.receipts())
    per_customer = Table("customer", "receipts", "accepted", "rejected", "balances")
    statuses = Counter((r["customer_id"], r["status"]) for r in receipts)
    for customer in sorted({r["customer_id"] for r in receipts}):
        held = ", ".join(f"{b.balance} {b.currency}" for b in store.balances() if b.customer_id == customer)
        total = statuses[(customer, "accepted")] + statuses[(customer, "rejected")]
        accepted, rejected = statuses[(customer, "accepted")], statuses[(customer, "rejected")]
        per_customer.add_row(*map(shown, (customer, total, accepted, rejected, held)))
    console.print(per_customer)
    reasons = Counter(letter["reason"] for letter in store.dead_letters())
    console.print(
        "Dead letters by reason: " + shown(", ".join(f"{reason} {n}" for reason, n in sorted(reasons.items())))
    )

    jwks = Jwks(home.keyring().jwks())
    results = verify_chain(receipts, jwks)
    failed = report_verification(results, [])
    files, records = archived_receipts(home.archive_url)
    archived = {record["receipt_id"]: export_line(record) for record in records}
    stored = {record["receipt_id"]: export_line(record) for record in receipts}
    if archived == stored:
        console.print(
            f"[green]OK[/] the archive ({shown(home.archive_url)}) holds the same {len(archived)} receipts, "
            f"byte for byte, in {files} files."
        )
    else:
        missing, extra = len(stored.keys() - archived.keys()), len(archived.keys() - stored.keys())
        differ = sum(archived[k] != stored[k] for k in stored.keys() & archived.keys())
        console.print(
            f"[red]The archive differs from the store: {missing} missing, {extra} extra, {differ} different.[/]"
        )
        failed += 1
    from receipts_cli.log import integrated, published_problem

    integrated(home, store)  # the job logged them; this signs the checkpoint if it could not
    size, problem = published_problem(home, store, [record["receipt_id"] for record in receipts])
    if problem is None:
        console.print(
            f"[green]OK[/] the transparency log ({shown(home.log_url)}) holds all {size} receipts: its tiles "
            "recompute the signed checkpoint's root (`receipts log info` shows it and the vkey)."
        )
    else:
        console.print(f"[red]The transparency log does not hold the receipts: {shown(problem)}[/]")
        failed += 1
    console.rule("Try next")
    cli = shown(f"receipts --home {home.root}" + (f" --store {home.store_url}" if home.is_gcp else ""))
    replay = (
        f"  {cli} publish --input {shown(events)} && {cli} stream --run-for 60   # a replay: nothing changes\n"
        f"  receipts --home {shown(home.root)} emulators down                  # when you are done\n"
        if home.is_gcp
        else f"  {cli} run --input {shown(events)}   # a replay: nothing changes\n"
    )
    console.print(
        f"  {cli} export --customer cust_acme | head -3\n"
        f"  {cli} export > receipts.jsonl && {cli} verify receipts.jsonl\n"
        f"  {cli} keys jwks > jwks.json      # the public keys anyone can verify with\n"
        f"  {cli} log info                   # the transparency log: origin, vkey, latest checkpoint\n"
        f"  {cli} dead-letters | head -3\n"
        f"  {cli} reconcile --report report.json   # prove the ledger is whole: chains, signatures, money, stores\n"
        + replay
        + "  docs/CONTRACT.md shows how to verify a receipt with openssl alone.",
        soft_wrap=True,
    )
    key, reused = demo_api_key(home, store)
    sample = next(store.receipts(DEMO_SITE_CUSTOMER), None)
    console.rule("Verifier site")
    console.print(
        f"  {cli} serve        # then open http://127.0.0.1:8000/\n"
        f"  API key for {DEMO_SITE_CUSTOMER}: {shown(key)}\n"
        f"    ({'the same key as last time' if reused else 'new'}, kept in {shown(home.root / DEMO_KEY_FILE)}, "
        f"mode 0600; `{cli} api-keys list` shows it)\n"
        + (f"  a receipt to look up: {shown(sample['receipt_id'])}" if sample else ""),
        soft_wrap=True,  # a wrapped key cannot be copied
    )
    return 1 if failed else 0


DEMO_SITE_CUSTOMER = "cust_acme"
DEMO_KEY_FILE = "demo-api-key"


def demo_api_key(home: Home, store: Store) -> tuple[str, bool]:
    """The demo customer's site API key: the one kept in the home while the store still
    holds it, else a new one written there (mode 0600). Returns (key, reused).

    Demos running at once on one home take turns here (the home's lock), so they all print
    one key, the one the file and the store hold; a key the store does not hold is never printed."""
    path = home.root / DEMO_KEY_FILE
    with home.taking_turns(DEMO_KEY_FILE):
        kept = path.read_text().strip() if path.exists() else ""
        if _held(store, kept):
            return kept, True
        key, _ = issue_api_key(store, DEMO_SITE_CUSTOMER)
        write_atomically(path, (key + "\n").encode())
    if not _held(store, key):
        raise RuntimeError("the store does not hold the demo API key it has just issued; run the demo again")
    return key, False


def _held(store: Store, key: str) -> bool:
    record = authenticate(store, key) if key else None
    return record is not None and record.customer_id == DEMO_SITE_CUSTOMER
