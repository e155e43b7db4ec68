"""The run's report: counts per check over every customer, and the discrepancies, of which
at most `max_listed` are listed (the counts are always exact). Small whatever the ledger's
size, so a CombineFn can build it."""

import json
from dataclasses import dataclass, field
from typing import Any

from receipts.reconciliation.findings import CustomerResult, Discrepancy, Tally

REPORT_KIND = "receipts.reconciliation"
REPORT_VERSION = 1
ALERT_LISTED = 10  # discrepancies quoted in the alert message


@dataclass
class Summary:
    """Adds up customer results; keeps the first `max_listed` discrepancies in report order."""

    max_listed: int = 1000
    tally: Tally = field(default_factory=Tally)
    listed: list[Discrepancy] = field(default_factory=list)

    def add(self, result: CustomerResult) -> "Summary":
        self.tally.merge(result.tally)
        self.listed.extend(result.discrepancies)
        if len(self.listed) > 2 * self.max_listed:
            self._trim()
        return self

    def merge(self, other: "Summary") -> "Summary":
        self.tally.merge(other.tally)
        self.listed.extend(other.listed)
        self._trim()
        return self

    def _trim(self) -> None:
        self.listed.sort(key=Discrepancy.sort_key)
        del self.listed[self.max_listed :]

    def report(self, run: dict[str, Any]) -> dict[str, Any]:
        """The JSON report; `run` says what was reconciled (store, archive, source, cut, JWKS)."""
        self._trim()
        total = self.tally.discrepancies
        return {
            "kind": REPORT_KIND,
            "version": REPORT_VERSION,
            "ok": total == 0,
            **run,
            "customers": self.tally.customers,
            "receipts": self.tally.receipts,
            "discrepancies_found": total,
            "checks": self.tally.checks,
            "set_aside": dict(sorted(self.tally.set_aside.items())),
            "discrepancies": [discrepancy.as_dict() for discrepancy in self.listed],
            "truncated": total > len(self.listed),
        }


def alert_message(report: dict[str, Any], report_url: str | None) -> tuple[bytes, dict[str, str]]:
    """One Pub/Sub message summarizing a run that found discrepancies: JSON data and
    attributes a subscription can filter on."""
    summary = {
        "kind": REPORT_KIND,
        "as_of": report.get("as_of"),
        "store": report.get("store"),
        "archive": report.get("archive"),
        "customers": report["customers"],
        "receipts": report["receipts"],
        "discrepancies_found": report["discrepancies_found"],
        "checks": {name: counts["discrepancies"] for name, counts in report["checks"].items()},
        "first_discrepancies": report["discrepancies"][:ALERT_LISTED],
        "report": report_url,
        "intake_frozen": bool(report.get("intake_frozen")),
    }
    if summary["intake_frozen"]:
        summary["intake"] = (
            "intake was frozen: nothing new is charged until `receipts intake resume` "
            "(events sent meanwhile are held as intake_frozen dead letters)"
        )
    attributes = {
        "kind": REPORT_KIND,
        "discrepancies": str(report["discrepancies_found"]),
        "as_of": str(report.get("as_of")),
        "intake_frozen": "true" if summary["intake_frozen"] else "false",
    }
    return json.dumps(summary, sort_keys=True, ensure_ascii=False).encode("utf-8"), attributes


def freeze_reason(report: dict[str, Any], report_url: str | None) -> str:
    """Why a failed reconciliation froze intake: how many discrepancies, and where the report is."""
    found = report["discrepancies_found"]
    where = f"; report {report_url}" if report_url else ""
    reason = f"reconciliation found {found} discrepanc{'y' if found == 1 else 'ies'} as of {report.get('as_of')}"
    return (reason + where)[:500]  # the length `receipts intake freeze` allows


def summary_line(report: dict[str, Any]) -> str:
    """One line for logs: what was examined and what did not hold, per check."""
    checks = ", ".join(f"{name} {counts['discrepancies']}" for name, counts in report["checks"].items())
    verdict = "OK" if report["ok"] else f"{report['discrepancies_found']} discrepancies"
    return f"reconciliation {verdict}: {report['customers']} customers, {report['receipts']} receipts ({checks})"
