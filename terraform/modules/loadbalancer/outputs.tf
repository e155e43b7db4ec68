output "address" {
  description = "The global IPv4 address: point the domain's A record here."
  value       = google_compute_global_address.site.address
}

output "url" {
  description = "The site's public URL."
  value       = "https://${var.domain}/"
}
