"""The Google Cloud store: Spanner (state), Firestore (ledger), Cloud Storage (archive)."""
