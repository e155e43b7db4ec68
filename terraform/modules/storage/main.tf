# Buckets: the receipt archive (write-once objects under a 7-year retention policy), the
# streaming job's Dataflow staging bucket (staging, temp) and a bucket for their access
# logs; jobs.tf has the releases, the reports and the batch jobs' staging buckets.
#
# The archive has no Object Versioning: Cloud Storage refuses versioning on a bucket with
# a retention policy, and the policy is the stronger guarantee (no object can be replaced
# or deleted before it is 7 years old, not even by an owner once the policy is locked).
locals {
  seven_years_seconds = 7 * 31557600 # 7 Julian years of 365.25 days
  dual_region         = length(var.archive_data_locations) > 0
}

resource "google_storage_bucket" "access_logs" {
  #checkov:skip=CKV_GCP_62:This bucket receives the other buckets' access logs; logging it to itself would loop.
  project                     = var.project_id
  name                        = "${var.name_prefix}-access-logs"
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
      age = var.access_log_days
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_storage_bucket" "archive" {
  #checkov:skip=CKV_GCP_78:Cloud Storage refuses Object Versioning on a bucket with a retention policy; the 7-year retention policy forbids replacing or deleting any object, which is stronger.
  project                     = var.project_id
  name                        = var.archive_bucket_name
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = var.labels
  rpo                         = local.dual_region ? "ASYNC_TURBO" : null

  dynamic "custom_placement_config" {
    for_each = local.dual_region ? [1] : []
    content {
      data_locations = var.archive_data_locations
    }
  }

  retention_policy {
    retention_period = local.seven_years_seconds
    is_locked        = var.lock_retention_policy
  }

  # Audits read old receipts rarely: cheaper classes as objects age (retention still holds).
  lifecycle_rule {
    condition {
      age = 90
    }
    action {
      type          = "SetStorageClass"
      storage_class = "COLDLINE"
    }
  }

  lifecycle_rule {
    condition {
      age = 365
    }
    action {
      type          = "SetStorageClass"
      storage_class = "ARCHIVE"
    }
  }

  logging {
    log_bucket = google_storage_bucket.access_logs.name
  }

  lifecycle {
    prevent_destroy = true
  }
}

resource "google_storage_bucket" "staging" {
  project                     = var.project_id
  name                        = "${var.name_prefix}-dataflow"
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = var.labels

  versioning {
    enabled = true
  }

  # temp/ holds the job's scratch files; staging/ is kept.
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
