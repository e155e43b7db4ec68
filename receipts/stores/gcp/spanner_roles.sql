-- Spanner fine-grained access control: the database roles workloads connect with, so each
-- can do what its job needs and nothing else. Terraform applies these after spanner.sql
-- (terraform/modules/spanner); the Spanner emulator does not know roles, so `receipts
-- init` applies them only on a real Spanner. Same format as spanner.sql.

-- The verifier site (gcp://PROJECT?role=verifier_site): it checks API keys and keeps its
-- sessions; it reads receipts from Firestore, and changes nothing else.
CREATE ROLE verifier_site;
GRANT SELECT ON TABLE ApiKeys TO ROLE verifier_site;
GRANT SELECT, INSERT, DELETE ON TABLE Sessions TO ROLE verifier_site;
-- Whether intake is frozen (receipts intake freeze): ingest answers 503 while it is.
GRANT SELECT ON TABLE Intake TO ROLE verifier_site;
-- The log's proofs and checkpoints (a receipt's leaf, the stored hashes, what was signed).
GRANT SELECT ON TABLE LogState, LogLeaves, LogHashes, LogBundles, LogCheckpoints TO ROLE verifier_site;
