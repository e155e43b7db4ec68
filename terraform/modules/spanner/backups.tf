# Backups of the state store, and the switch that points the services at a restored copy.
#
# Recovery points, by how far back the damage lies (docs/RUNBOOK.md, "Restoring a database"):
#   within version_retention_period (7 days in prod)  any second: point-in-time recovery
#   within backup_retention (90 days in prod)         the last incremental backup (every
#                                                     incremental_backup_hours) or daily one
#   within monthly_backup_retention (a year)          the first of the month
# Backups live in the instance, not in the database: dropping the database (which drop
# protection refuses anyway) leaves them, and no workload identity holds a role that can
# delete or shorten one (tests/test_terraform_edges.py checks every grant). The receipts
# themselves are also in the retention-locked archive, which nobody can delete.
#
# A restore never overwrites: Spanner restores into a new database. Once it is verified,
# serving_database names it and `terraform apply` moves every grant, the jobs' store URL and
# the site's onto it; the damaged database stays, drop-protected, for the investigation.
locals {
  serving_database = coalesce(var.serving_database, google_spanner_database.this.name)
}

resource "google_spanner_backup_schedule" "daily" {
  project  = var.project_id
  instance = google_spanner_instance.this.name
  database = local.serving_database
  name     = "daily"

  retention_duration = var.backup_retention

  spec {
    cron_spec {
      text = "0 3 * * *"
    }
  }

  full_backup_spec {}
}

# Incremental backups hold only what changed since the one before, so they can be frequent;
# Spanner takes them on the Enterprise and Enterprise Plus editions.
resource "google_spanner_backup_schedule" "incremental" {
  count = var.incremental_backup_hours == null ? 0 : 1

  project  = var.project_id
  instance = google_spanner_instance.this.name
  database = local.serving_database
  name     = "incremental"

  retention_duration = var.backup_retention

  spec {
    cron_spec {
      text = "30 */${var.incremental_backup_hours} * * *"
    }
  }

  incremental_backup_spec {}
}

resource "google_spanner_backup_schedule" "monthly" {
  project  = var.project_id
  instance = google_spanner_instance.this.name
  database = local.serving_database
  name     = "monthly"

  retention_duration = var.monthly_backup_retention

  spec {
    cron_spec {
      text = "0 4 1 * *"
    }
  }

  full_backup_spec {}
}
