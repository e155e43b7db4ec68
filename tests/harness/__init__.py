"""Test support: the streaming job's steps run as Dataflow runs them, in-process and seeded.

`dataflow` runs one keyed stateful DoFn over bundles (state as coder bytes, commit on
success, retries on fresh workers, watermark timers, snapshots, updates); `delivery` is
Pub/Sub and the shuffle between steps (redelivery, reordering, a test-driven clock);
`billing` composes our charging steps into jobs and checks the money invariants.
"""
