"""Pipeline options shared by the batch and streaming jobs. Beam registers every
PipelineOptions subclass in one parser, so each flag is declared once, here."""

from apache_beam.options.pipeline_options import PipelineOptions


class ReceiptsOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser) -> None:
        parser.add_argument("--store", help="Store URL: sqlite:///PATH or gcp://PROJECT[?instance=&database=&bucket=]")
        parser.add_argument("--keys", help="Folder of the local signing key ring")
        parser.add_argument("--kid", help="kid (RFC 7638 thumbprint) of the key to sign with")
        parser.add_argument("--archive", help="Receipt archive: a folder (hourly files) or gs://bucket/prefix")
        parser.add_argument(
            "--dedup_ttl_seconds",
            type=int,
            default=24 * 3600,
            help="Streaming: how long dedup state remembers a key before the store answers for it",
        )
