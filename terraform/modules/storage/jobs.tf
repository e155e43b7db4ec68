# The buckets around the jobs, each written by one identity (terraform/modules/iam):
#   releases   the Flex Template specs and the JWKS the batch jobs verify with: the deployer
#              writes them, the jobs only read, so no job can change what it runs or the
#              keys it checks signatures against
#   reports    the reconciliation's and the restore's reports: those jobs may only create
#              objects here, and the retention policy keeps any report from being replaced
#              or deleted before it is report_retention_days old
#   staging    a Dataflow staging bucket for each batch job's identity, beside the streaming
#              job's (main.tf): a job's workers run what is staged, so no identity may write
#              another's staged files
resource "google_storage_bucket" "releases" {
  project                     = var.project_id
  name                        = "${var.name_prefix}-releases"
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = var.labels

  versioning {
    enabled = true # a replaced spec or JWKS keeps its former version
  }

  logging {
    log_bucket = google_storage_bucket.access_logs.name
  }
}

resource "google_storage_bucket" "reports" {
  #checkov:skip=CKV_GCP_78:Cloud Storage refuses Object Versioning on a bucket with a retention policy; the retention policy forbids replacing or deleting any report before it expires, which is stronger.
  project                     = var.project_id
  name                        = "${var.name_prefix}-reports"
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = var.labels

  retention_policy {
    retention_period = var.report_retention_days * 86400
    is_locked        = var.lock_retention_policy
  }

  logging {
    log_bucket = google_storage_bucket.access_logs.name
  }
}

resource "google_storage_bucket" "job_staging" {
  for_each = toset(["reconcile", "restore", "statements"])

  project                     = var.project_id
  name                        = "${var.name_prefix}-dataflow-${each.key}"
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = var.labels

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age            = 7
      matches_prefix = ["temp/"]
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      num_newer_versions = 5
      with_state         = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  logging {
    log_bucket = google_storage_bucket.access_logs.name
  }
}

# Usage logs (the buckets' `logging` blocks) are written into the access-log bucket by
# Google's Cloud Storage analytics group, which needs this grant ("Usage logs & storage
# logs", Cloud Storage documentation); without it no access log arrives.
resource "google_storage_bucket_iam_member" "usage_logs_writer" {
  bucket = google_storage_bucket.access_logs.name
  role   = "roles/storage.objectCreator"
  member = "group:cloud-storage-analytics@google.com"
}
