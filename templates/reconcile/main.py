"""Flex Template entry point: the launcher runs this file with the job's parameters as
flags; pipelines/reconcile.py builds the reconciliation from them and submits it."""

from pipelines.reconcile import main

if __name__ == "__main__":
    main()
