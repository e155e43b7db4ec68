# Backups of the ledger. Point-in-time recovery (on the database, main.tf) keeps every
# version of every document for 7 days, readable at any minute; the daily backups go back
# backup_retention, the weekly ones 14 weeks. Firestore restores a backup, or clones a point
# in time, only into a new database (docs/RUNBOOK.md, "Restoring a database"). The ledger's
# receipts are also in the retention-locked archive, which `receipts restore` writes back
# verified; what only Firestore holds (the dead letters) is what these backups are for.
# No workload identity holds a role that deletes a backup or a schedule, or turns recovery
# or delete protection off (tests/test_terraform_edges.py).
resource "google_firestore_backup_schedule" "daily" {
  project   = var.project_id
  database  = google_firestore_database.this.name
  retention = var.backup_retention

  daily_recurrence {}
}

resource "google_firestore_backup_schedule" "weekly" {
  project   = var.project_id
  database  = google_firestore_database.this.name
  retention = var.weekly_backup_retention

  weekly_recurrence {
    day = "SUNDAY"
  }
}
