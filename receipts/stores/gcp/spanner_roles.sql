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

-- Statements are only ever appended (Terraform replaces the database for any other change).
-- No role below may run DDL: that takes the IAM role spanner.databaseAdmin, which only the
-- deployer holds (terraform/modules/iam).

-- The streaming job (receipts-pipeline, role=receipts_writer; receipts/stores/gcp/store.py,
-- archive_outbox.py, intake.py). It signs, so it adds receipts and changes none: an
-- IdempotencyKeys row holds a signed receipt and takes INSERT only (the rows go by the
-- table's 30-day row deletion policy, which Spanner runs itself). The chain's state rows
-- are upserted with each receipt; the archive outbox is planned and cleared by the job
-- (DELETE on ArchiveSpans too: a batch's spans go with it, ON DELETE CASCADE).
CREATE ROLE receipts_writer;
GRANT SELECT, INSERT ON TABLE IdempotencyKeys TO ROLE receipts_writer;
GRANT SELECT, INSERT, UPDATE ON TABLE ChainHeads, Balances, EntitlementUsage, ArchiveMarks TO ROLE receipts_writer;
GRANT SELECT, INSERT, DELETE ON TABLE ArchiveBatches, ArchiveSpans TO ROLE receipts_writer;
GRANT SELECT ON TABLE Entitlements, Intake TO ROLE receipts_writer;

-- The reconciliation (receipts-auditor, role=receipts_auditor; receipts/stores/gcp/state_reads.py):
-- reads every state table, and writes one thing, the Intake row, to freeze intake when
-- it finds a discrepancy (intake.py's set_intake: an upsert).
CREATE ROLE receipts_auditor;
GRANT SELECT ON TABLE IdempotencyKeys, ChainHeads, Balances, Entitlements, EntitlementUsage, ArchiveMarks, ArchiveSpans TO ROLE receipts_auditor;
GRANT INSERT, UPDATE ON TABLE Intake TO ROLE receipts_auditor;

-- The restore (receipts-restorer, role=receipts_restorer; receipts/stores/gcp/restore.py),
-- only while a restore is allowed (terraform/modules/iam, restore_until): rewrites a
-- customer's idempotency rows, chain head, balances, usage and archive mark to what its
-- verified archived chain says, removing rows that chain does not account for.
CREATE ROLE receipts_restorer;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE IdempotencyKeys, Balances, EntitlementUsage TO ROLE receipts_restorer;
GRANT SELECT, INSERT, UPDATE ON TABLE ChainHeads, ArchiveMarks TO ROLE receipts_restorer;
GRANT SELECT ON TABLE Entitlements, ArchiveSpans, Intake TO ROLE receipts_restorer;

-- The transparency log (receipts/stores/gcp/log.py): the streaming job sequences it (a
-- leaf row is inserted once; the state, the marks and the 256-hash rows grow by upserts);
-- the site reads its proofs and checkpoints; the reconciliation reads all of it.
GRANT SELECT, INSERT, UPDATE ON TABLE LogState, LogMarks, LogHashes, LogBundles TO ROLE receipts_writer;
GRANT SELECT, INSERT ON TABLE LogCheckpoints TO ROLE receipts_writer;
GRANT INSERT ON TABLE LogLeaves TO ROLE receipts_writer;
GRANT SELECT ON TABLE LogState, LogLeaves, LogHashes, LogBundles, LogCheckpoints TO ROLE verifier_site;
GRANT SELECT ON TABLE LogState, LogMarks, LogLeaves, LogHashes, LogBundles, LogCheckpoints TO ROLE receipts_auditor;

-- Who submitted each event through POST /v1/events (receipts/stores/gcp/submissions.py): the
-- site inserts a submission and its address once (a transaction reads which receipt ids
-- have one first), and reads them for the receipt's page and evidence. It can neither
-- change nor delete one: the addresses go by the table's row deletion policy, which Spanner
-- runs itself, or by `receipts intake scrub` as an operator.
GRANT SELECT, INSERT ON TABLE Submissions TO ROLE verifier_site;
GRANT SELECT, INSERT ON TABLE SubmissionAddresses TO ROLE verifier_site;

-- Credit notes (receipt contract v2): the streaming job reads a charge's credited total and
-- upserts it in the commit of each accepted credit; the reconciliation reads it; the restore
-- rewrites it from the verified chain.
GRANT SELECT, INSERT, UPDATE ON TABLE ChargeCredits TO ROLE receipts_writer;
GRANT SELECT ON TABLE ChargeCredits TO ROLE receipts_auditor;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE ChargeCredits TO ROLE receipts_restorer;

-- The customer's account page (receipts/stores/gcp/account.py): balances and the chain head.
GRANT SELECT ON TABLE Balances, ChainHeads TO ROLE verifier_site;

-- Billing periods (receipts/stores/gcp/statements.py). The statements job (receipts-statements,
-- role=statements_closer) lists the customers (state_reads.py's customers), fixes a period's
-- close once and inserts each statement once: it can change or delete none, nor any receipt.
CREATE ROLE statements_closer;
GRANT SELECT ON TABLE IdempotencyKeys, ChainHeads, Balances, EntitlementUsage TO ROLE statements_closer;
GRANT SELECT, INSERT ON TABLE StatementCloses, Statements TO ROLE statements_closer;
-- The streaming job's sequencer logs them as leaves after the receipts (log.py); the
-- reconciliation checks them and their leaves; the site shows a customer its own.
GRANT SELECT ON TABLE Statements TO ROLE receipts_writer;
GRANT SELECT, INSERT, UPDATE ON TABLE StatementLogMarks TO ROLE receipts_writer;
GRANT SELECT ON TABLE StatementCloses, Statements, StatementLogMarks TO ROLE receipts_auditor;
GRANT SELECT ON TABLE Statements TO ROLE verifier_site;
-- A restore writes back, from the archive, each verified statement Spanner lost or changed,
-- and its period's close where Spanner lost or changed it (receipts/stores/statements_restore.py).
GRANT SELECT, INSERT, UPDATE ON TABLE Statements TO ROLE receipts_restorer;
GRANT SELECT, INSERT, UPDATE ON TABLE StatementCloses TO ROLE receipts_restorer;

-- The log's restore (receipts/stores/gcp/log_restore.py, `receipts restore`): while a restore
-- is allowed, the restorer writes the log's rows back from the verified published tiles
-- (upserts: a restore killed half way is run again) and reads the stored receipts' hashes.
GRANT SELECT, INSERT, UPDATE ON TABLE LogState, LogMarks, StatementLogMarks, LogLeaves, LogHashes, LogBundles, LogCheckpoints TO ROLE receipts_restorer;

-- Delegated signing keys (receipts/stores/gcp/delegated_keys.py; `--signer delegated://kms/…`).
-- The streaming job reads a window's key or inserts it once with its endorsement document,
-- and reads the revocations; it changes and deletes none. The site publishes the endorsed
-- public keys and the revocations from the key documents alone (never a wrapped private
-- key); the reconciliation checks them and their leaves. A revocation is an operator's
-- (`receipts keys revoke`), under no workload's role. The log's sequencer makes the key
-- documents leaves under the LogMarks row "keys:" (granted above).
GRANT SELECT, INSERT ON TABLE DelegatedKeys, KeyDocuments TO ROLE receipts_writer;
GRANT SELECT ON TABLE KeyDocuments TO ROLE verifier_site;
GRANT SELECT ON TABLE KeyDocuments TO ROLE receipts_auditor;
-- The log's restore finds the key documents' leaves among the stored documents (log_restore.py);
-- `receipts restore` first writes back the archived ones Spanner lost (key_documents_restore.py).
GRANT SELECT, INSERT ON TABLE KeyDocuments TO ROLE receipts_restorer;
