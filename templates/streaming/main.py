"""Flex Template entry point: the launcher runs this file with the job's parameters as
flags; pipelines/streaming.py builds the pipeline from them and launches it."""

from pipelines.streaming import main

if __name__ == "__main__":
    main()
