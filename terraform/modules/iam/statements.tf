# receipts-statements, the monthly close (the statements Flex Template job, launched by
# terraform/modules/statements_schedule): reads every customer's chain, signs one statement
# per customer with the receipts' HSM key (a statement is `typ` statement+jws, named by the
# same kid), and appends each once: Spanner role statements_closer (INSERT only on
# StatementCloses and Statements, no UPDATE or DELETE anywhere), Firestore create-only
# (statements/{id}; the ledger writer role holds for every collection, receipts/ too, which
# the reconciliation would name: the Spanner state it cannot write), archive objects
# created once. It signs and can change or delete nothing written, like the streaming job.
resource "google_project_iam_member" "statements" {
  for_each = toset(local.dataflow_worker_roles)

  project = var.project_id
  role    = each.value
  member  = local.closer
}

resource "google_project_iam_member" "statements_create_documents" {
  project = var.project_id
  role    = google_project_iam_custom_role.ledger_writer.name
  member  = local.closer
}

resource "google_spanner_database_iam_member" "statements" {
  project  = var.project_id
  instance = var.spanner_instance
  database = var.spanner_database
  role     = "roles/spanner.fineGrainedAccessUser"
  member   = local.closer
}

resource "google_spanner_database_iam_member" "statements_database_role" {
  project  = var.project_id
  instance = var.spanner_instance
  database = var.spanner_database
  role     = "roles/spanner.databaseRoleUser"
  member   = local.closer

  condition {
    title      = "statements_closer role only"
    expression = "resource.type == \"spanner.googleapis.com/DatabaseRole\" && resource.name.endsWith(\"/databaseRoles/statements_closer\")"
  }
}

# gs://ARCHIVE/statements/PERIOD/STATEMENT_ID.jsonl, created once; the metadata read tells a
# rerun's same bytes from a conflict (receipts/stores/gcp/bucket_archive.py).
resource "google_storage_bucket_iam_member" "statements_archive" {
  for_each = toset(["roles/storage.objectCreator", "roles/storage.objectViewer"])

  bucket = var.archive_bucket
  role   = each.value
  member = local.closer
}

resource "google_storage_bucket_iam_member" "statements_staging" {
  bucket = var.job_staging_buckets["statements"]
  role   = "roles/storage.objectAdmin"
  member = local.closer
}

resource "google_kms_crypto_key_iam_member" "statements_signs" {
  crypto_key_id = var.signing_key_id
  role          = "roles/cloudkms.signerVerifier"
  member        = local.closer
}

resource "google_artifact_registry_repository_iam_member" "statements_pulls" {
  project    = var.project_id
  location   = var.registry_location
  repository = var.registry_repository
  role       = "roles/artifactregistry.reader"
  member     = local.closer
}
