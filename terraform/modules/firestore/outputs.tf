output "database" {
  description = "Firestore database name."
  value       = google_firestore_database.this.name
}

output "rules_release" {
  description = "The security rules release in force."
  value       = google_firebaserules_release.firestore.name
}

output "indexes" {
  description = "Composite indexes created from receipts/stores/gcp/firestore.indexes.json."
  value       = keys(google_firestore_index.this)
}
