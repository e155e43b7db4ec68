# The identities of the receipts system. DESIGN.md: no identity can both sign receipts and
# change or delete what was written, and the ledger is append-only by access control.
#
#   service account     runs                         KMS key   ledger (Firestore)      state (Spanner database role)
#   receipts-pipeline   the streaming job            signs     create, read            receipts_writer
#   receipts-auditor    the hourly reconciliation    -         read                    receipts_auditor
#   receipts-restorer   a restore, until restore_until -       create, update, read    receipts_restorer
#   receipts-statements the monthly statements close signs     create, read            statements_closer
#   receipts-site       the verifier site            public    read                    verifier_site
#   receipts-deployer   Terraform in CI              public    administers             administers (DDL)
#
# Each role is granted on the one resource it concerns wherever Google allows it; Firestore
# and the Dataflow worker, log and metric roles exist only per project. No workload holds
# roles/datastore.user (it may update and delete), roles/spanner.databaseUser (DELETE,
# UPDATE and DDL on every table) or any admin role: workloads reach Spanner only through
# their database role (fine-grained access control, receipts/stores/gcp/spanner_roles.sql,
# named in each one's store URL, `&role=`). tests/test_terraform.py holds these rules, and
# docs/SECURITY.md ("Who can change the ledger") says who can still delete what.
#
# pipeline.tf, auditor.tf, restorer.tf, statements.tf, site.tf and deployer.tf hold each
# identity's grants.
resource "google_service_account" "pipeline" {
  project      = var.project_id
  account_id   = "receipts-pipeline"
  display_name = "Receipts streaming job: signs and appends (Dataflow workers)"
}

resource "google_service_account" "auditor" {
  project      = var.project_id
  account_id   = "receipts-auditor"
  display_name = "Receipts reconciliation: reads everything, freezes intake, creates reports"
}

resource "google_service_account" "restorer" {
  project      = var.project_id
  account_id   = "receipts-restorer"
  display_name = "Receipts restore from the archive (no access outside a restore window)"
}

resource "google_service_account" "statements" {
  project      = var.project_id
  account_id   = "receipts-statements"
  display_name = "Receipts monthly statements: signs and appends statements (Dataflow workers)"
}

resource "google_service_account" "site" {
  project      = var.project_id
  account_id   = "receipts-site"
  display_name = "Receipts verifier site (Cloud Run)"
}

resource "google_service_account" "deployer" {
  project      = var.project_id
  account_id   = "receipts-deployer"
  display_name = "Receipts deployer (Terraform in CI; nobody deploys as Owner)"
}

locals {
  pipeline = "serviceAccount:${google_service_account.pipeline.email}"
  auditor  = "serviceAccount:${google_service_account.auditor.email}"
  restorer = "serviceAccount:${google_service_account.restorer.email}"
  closer   = "serviceAccount:${google_service_account.statements.email}"
  site     = "serviceAccount:${google_service_account.site.email}"
  deployer = "serviceAccount:${google_service_account.deployer.email}"

  # What every Dataflow job's identity needs in the project.
  dataflow_worker_roles = ["roles/dataflow.worker", "roles/logging.logWriter", "roles/monitoring.metricWriter"]
}

# Firestore has no create-only predefined role (roles/datastore.user may update and delete),
# and Firestore IAM cannot name a collection: each custom role below holds for every
# collection (receipts/ and dead_letters/) of every Firestore database of the project.
# Permissions as Firestore's "Security for server client libraries" lists them: a create
# (an exists=false precondition) takes datastore.entities.create; get and queries take
# datastore.entities.get and .list; a set() without precondition takes create and update;
# a delete takes datastore.entities.delete, which no workload has.
resource "google_project_iam_custom_role" "ledger_writer" {
  project     = var.project_id
  role_id     = "receiptsLedgerWriter"
  title       = "Receipts ledger writer (create-only)"
  description = "Create Firestore documents and read them; never update or delete one."
  permissions = ["datastore.entities.create", "datastore.entities.get", "datastore.entities.list"]
}

resource "google_project_iam_custom_role" "ledger_restorer" {
  project     = var.project_id
  role_id     = "receiptsLedgerRestorer"
  title       = "Receipts ledger restorer (create and replace, never delete)"
  description = "Create Firestore documents, read them, and replace one with its verified archived copy; never delete."
  permissions = ["datastore.entities.create", "datastore.entities.get", "datastore.entities.list", "datastore.entities.update"]
}
