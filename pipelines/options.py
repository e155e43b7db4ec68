"""Pipeline options shared by the jobs. Beam registers every PipelineOptions subclass in
one parser, so each flag is declared once, here or next to the one job that reads it.

Beam's one parser also means no flag can be argparse-`required` (every PipelineOptions
made anywhere in the process would then demand it): each job module names in `REQUIRED`
what it must be given when launched on Dataflow, `missing_options` checks it, and the job's
Flex Template metadata marks exactly those parameters as not optional
(tests/test_templates.py).
"""

from collections.abc import Iterable
from typing import Any

from apache_beam.options.pipeline_options import PipelineOptions

from receipts.stores import store_class
from receipts.stores.signers import key_file_url, signer_from_url
from transforms.dedup import DEDUP_TTL_SECONDS


class StoreOptions(PipelineOptions):
    """Where receipts are kept: every job reads or writes these."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument("--store", help="Store URL: sqlite:///PATH or gcp://PROJECT[?instance=&database=&bucket=]")
        parser.add_argument("--archive", help="Receipt archive: a folder (hourly files) or gs://bucket/prefix")


class LogOptions(PipelineOptions):
    """The transparency log the charging jobs integrate what they store into (docs/LOG.md);
    its files go beside the archive (receipts.stores.log_locations.log_url)."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument(
            "--log_origin",
            help="The log's origin, its name in every checkpoint: a URL without its scheme (billing.example/log)",
        )
        parser.add_argument(
            "--log_signer",
            help="Checkpoint key (Ed25519, named for the origin): kms://projects/P/locations/L/keyRings/R/"
            "cryptoKeys/K/cryptoKeyVersions/N (Cloud KMS, EC_SIGN_ED25519) or file:///PATH/log.key",
        )
        parser.add_argument(
            "--log_witness",
            action="append",
            default=None,
            help="Witnesses that cosign each checkpoint, VKEY@URL (C2SP tlog-witness); repeatable, or "
            "several in one value separated by spaces (a Flex Template parameter)",
        )
        parser.add_argument(
            "--log_witness_quorum",
            type=int,
            default=None,
            help="Cosignatures a checkpoint needs (default: every witness); fewer is published, flagged",
        )
        parser.add_argument(
            "--log_interval",
            type=int,
            default=10,
            help="Streaming: seconds of processing time between integrations of the log (whole seconds)",
        )


class VerifyOptions(PipelineOptions):
    """The jobs that verify receipts and report (reconcile, restore): the keys, and the report."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument(
            "--jwks",
            help="JWKS file, http(s) URL or gs://bucket/object to verify with (default: the key ring in --keys)",
        )
        parser.add_argument(
            "--report",
            help="Where the JSON report goes: a path or gs://bucket/object; the reconciliation replaces {as_of} "
            "in it with its cut",
        )


class ChargingOptions(PipelineOptions):
    """How the charging jobs (batch and streaming) sign and deduplicate."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument(
            "--signer",
            help="Signing key: kms://projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/N "
            "(Cloud KMS), file:///PATH/key.pem (a PEM private key), or "
            "delegated://kms/projects/…/cryptoKeyVersions/N?wrap=projects/…/cryptoKeys/W&window=1d "
            "(daily keys that KMS key endorses, wrapped by W)",
        )
        parser.add_argument(
            "--kid", help="kid (RFC 7638 thumbprint) the signing key must have; default: the signing key's own"
        )
        parser.add_argument(
            "--dedup_ttl_seconds",
            type=int,
            default=DEDUP_TTL_SECONDS,
            help="Streaming: how long dedup state remembers a key before the store answers for it",
        )
        parser.add_argument(
            "--max_future_seconds",
            type=int,
            default=3600,
            help="An event timestamped more than this ahead of processing time is a dead letter (timestamp_in_future)",
        )


class LocalKeyOptions(PipelineOptions):
    """Local runs only: sign with (or verify against) the local key ring; a Dataflow job
    uses --signer (charging) or --jwks (reconciliation)."""

    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument("--keys", help="Folder of the local signing key ring (with --kid; --signer overrides)")


def missing_options(options: PipelineOptions, required: Iterable[str]) -> list[str]:
    """The options named in `required` that `options` leaves unset, as --flags."""
    given = options.get_all_options()
    return [f"--{name}" for name in required if given.get(name) in (None, "")]


def charging_settings(options: PipelineOptions) -> dict[str, Any]:
    """The settings both charging jobs (batch.Settings, streaming.StreamSettings) read from
    their options: where receipts are kept, the signing key, dedup, the clock bound and the log."""
    where, charging = options.view_as(StoreOptions), options.view_as(ChargingOptions)
    logging = options.view_as(LogOptions)
    return {
        "store": where.store,
        "archive": where.archive,
        "keys": options.view_as(LocalKeyOptions).keys,
        "kid": charging.kid,
        "signer": charging.signer,
        "dedup_ttl_seconds": charging.dedup_ttl_seconds,
        "max_future_seconds": charging.max_future_seconds,
        "log_origin": logging.log_origin,
        "log_signer": logging.log_signer,
        "log_witnesses": tuple(spec for value in logging.log_witness or () for spec in value.split()),
        "log_witness_quorum": logging.log_witness_quorum,
    }


def _keeps_delegated_keys(store: str) -> bool:
    try:
        return hasattr(store_class(store), "add_delegated_key")
    except ValueError:  # not a store URL: open_store says so, with the job's other checks
        return True


def signing(signer: str | None, keys: str | None, kid: str | None, store: str | None = None) -> tuple[str, str]:
    """(signer URL, kid) for a job: the signer URL given, or the key ring key `kid` names;
    the kid given, or the signing key's own (for KMS, one GetPublicKey call; for a delegated
    signer, its endorsing key's). A delegated signer keeps its keys in the store (SQLite, or
    Spanner on gcp://): a store that keeps none is refused here, at launch."""
    if signer and signer.startswith("delegated://") and store and not _keeps_delegated_keys(store):
        raise ValueError(
            f"--signer delegated://… keeps its keys in the store, and {store.split('?')[0]} keeps none: "
            "use sqlite:/// or gcp:// (docs/DEPLOY.md, Choosing the signer)"
        )
    if not signer:
        if not (keys and kid):
            raise ValueError("name the signing key: --signer URL, or --keys FOLDER with --kid KID")
        signer = key_file_url(keys, kid)
    return signer, kid or signer_from_url(signer).kid
