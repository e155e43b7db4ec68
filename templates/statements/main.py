"""Flex Template entry point: the launcher runs this file with the job's parameters as
flags; pipelines/statements.py builds the period's close from them and submits it."""

from pipelines.statements import main

if __name__ == "__main__":
    main()
