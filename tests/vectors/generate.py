"""Write the shared test vectors, and the tables the browser verifier shares with Python.

    python -m tests.vectors.generate          # from the repository root

Deterministic: the keys are the committed test-only keys in keys/, RS256 signatures are
deterministic and every timestamp is fixed, so a second run writes the same bytes (and
tests/test_vectors.py fails when a committed file is not what this writes).

- tests/vectors/receipts.json: the JWKS, every case of cases.py with what receipts.verify
  answers for it (each check's name, result and reason, in order), and text samples
  with what receipts.text.visible shows of them. Both verifiers run it.
- verifier_site/static/tables.js: currencies' minor digits (receipts/currencies.py) and the
  Unicode tables of the Python that runs the server (str.isprintable, str.isspace), so the
  browser judges an idempotency key exactly as the server does.
"""

import json
import sys
import unicodedata
import warnings
from pathlib import Path
from typing import Any

from receipts.currencies import MINOR_UNITS
from receipts.keys import Jwks
from receipts.reading import Unreadable, read_receipts
from receipts.text import visible
from receipts.verify import Verification, verify_chain
from tests.vectors.cases import Case, all_cases
from tests.vectors.forge import vector_jwks

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "receipts.json"
TABLES = ROOT / "verifier_site" / "static" / "tables.js"

TEXT_SAMPLES = [
    "plain text, nothing to escape",
    "invoice \u202egnp.exe\u202c",
    "\u2066isolate\u2069 \u2067rtl\u2069 \u2068first strong\u2069 \u200e\u200f\u061c marks",
    "line\u2028separator\u2029paragraph",
    "\x00\x07\x08\t\n\x0b\x0c\r\x1b[2J\x1f \x7f\x80\x85\x9f\xa0",
    "soft\xadhyphen \u180emongolian \u200b\u200c\u200d\u2060\u2061\u2064\u2065\u206f \ufeff \ufff9\ufffa\ufffb\ufffc",
    "arabic \u0600\u0605\u0606 \u06dd \u070f \u0890\u0891\u0892 \u08e2",
    "\U000110bd\U000110cd \U00013430\U0001343f\U00013440 \U0001bca0\U0001bca3\U0001bca4 \U0001d173\U0001d17a\U0001d17b",
    "tags \U000e0000\U000e0001\U000e0002\U000e001f\U000e0020\U000e007f\U000e0080",
    "lone \ud800 and \udfff surrogates, a pair \U0001f600",
    "שלום עולם 12.00, Ïñtërnâtiônàl, ☃ 𝄞, e\u0301, 中文, \U0001fae8",
    "key with spaces",
    "",
    "".join(chr(point) for point in range(0x20, 0x7F)),
]


def _result(result: Verification) -> dict[str, Any]:
    return {
        "receipt_id": result.receipt_id,
        "customer_id": result.customer_id,
        "sequence": None if result.sequence is None else str(result.sequence),
        "checks": [[check.check, check.ok, check.reason] for check in result.checks],
    }


def _case(case: Case, jwks: Jwks) -> dict[str, Any]:
    text = case.input
    items = list(read_receipts(text.encode("utf-8")))
    unreadable = [item for item in items if isinstance(item, Unreadable)]
    results = verify_chain([item for item in items if not isinstance(item, Unreadable)], jwks)
    declared = {index: sorted(checks) for index, checks in case.fails.items()}
    found = {index: sorted({f.check for f in result.failures}) for index, result in enumerate(results) if not result.ok}
    if found != declared or [item.line for item in unreadable] != case.unreadable or not text.strip():
        raise AssertionError(
            f"{case.name}: receipts.verify answers failures {found} and unreadable "
            f"{[(item.line, item.reason) for item in unreadable]}; the case declares {declared} and {case.unreadable}"
        )
    return {
        "name": case.name,
        "about": case.about,
        "input": text,
        "expect": {
            "unreadable": [{"line": item.line, "reason": item.reason} for item in unreadable],
            "results": [_result(result) for result in results],
        },
    }


def vectors() -> str:
    jwks_document = vector_jwks()
    jwks = Jwks(jwks_document)
    cases = all_cases()
    names = [case.name for case in cases]
    if len(set(names)) != len(names):
        raise AssertionError("two cases share a name")
    document = {
        "about": (
            "Shared test vectors of the receipt verifiers (receipts/verify.py and verifier_site/static/verifier.js). "
            "Each receipt vector's input is the text a person pastes; expect is what receipts.verify answers. "
            "The keys are test-only (tests/vectors/keys/). Made by: python -m tests.vectors.generate"
        ),
        "jwks": jwks_document,
        "receipts": [_case(case, jwks) for case in cases],
        "text": [{"text": text, "visible": visible(text), "printable": text.isprintable()} for text in TEXT_SAMPLES],
    }
    return json.dumps(document, ensure_ascii=True, indent=1) + "\n"


def _ranges(test: Any) -> list[tuple[int, int]]:
    ranges: list[list[int]] = []
    for point in range(sys.maxunicode + 1):
        if test(chr(point)):
            if ranges and ranges[-1][1] == point - 1:
                ranges[-1][1] = point
            else:
                ranges.append([point, point])
    return [(first, last) for first, last in ranges]


def tables() -> str:
    not_printable = _ranges(lambda c: not c.isprintable())
    pairs = [f"0x{first:x}, 0x{last:x}" for first, last in not_printable]
    rows = [", ".join(pairs[index : index + 6]) for index in range(0, len(pairs), 6)]
    spaces = "".join(f"\\u{point:04x}" for point in range(sys.maxunicode + 1) if chr(point).isspace())
    currencies = ", ".join(f'["{code}", {digits}]' for code, digits in sorted(MINOR_UNITS.items()))
    return (
        "// Generated by `python -m tests.vectors.generate`: do not edit. tests/test_vectors.py fails\n"
        "// when this is not what the generator writes from receipts/currencies.py and the Unicode\n"
        f"// tables of the Python the server runs (Unicode {unicodedata.unidata_version}).\n\n"
        "// ISO 4217 codes a receipt may be in, and their minor digits.\n"
        f"export const MINOR_UNITS = new Map([{currencies}]);\n\n"
        "// Python's str.isspace() characters: what str.strip() removes.\n"
        f'export const WHITESPACE = "{spaces}";\n\n'
        "// Code point ranges [first, last, first, last, ...] where Python's str.isprintable() is false.\n"
        "export const NOT_PRINTABLE = [\n" + "".join(f"  {row},\n" for row in rows) + "];\n"
    )


def main() -> None:
    warnings.filterwarnings("ignore", "Key size should be")  # the JWKS holds a 1024-bit key on purpose
    VECTORS.write_text(vectors(), encoding="ascii")
    TABLES.write_text(tables(), encoding="ascii")
    print(f"wrote {VECTORS.relative_to(ROOT)} and {TABLES.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
