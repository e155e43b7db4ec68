output "instance" {
  description = "Spanner instance id."
  value       = google_spanner_instance.this.name
}

output "database" {
  description = "Spanner database id the services use: the one created here, or serving_database after a restore."
  value       = local.serving_database
}

output "database_id" {
  description = "Full id of the database the services use (projects/P/instances/I/databases/D)."
  value       = "projects/${var.project_id}/instances/${google_spanner_instance.this.name}/databases/${local.serving_database}"
}

output "created_database" {
  description = "The database this module created (kept, drop-protected, after the services move to a restored one)."
  value       = google_spanner_database.this.name
}

output "backup_schedules" {
  description = "The backup schedules of the serving database (daily, monthly, and incremental where the edition allows)."
  value = concat(
    [google_spanner_backup_schedule.daily.name, google_spanner_backup_schedule.monthly.name],
    google_spanner_backup_schedule.incremental[*].name,
  )
}

output "ddl_statements" {
  description = "How many DDL statements were read from receipts/stores/gcp/spanner.sql and spanner_roles.sql."
  value       = length(local.ddl)
}
