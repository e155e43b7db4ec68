output "network" {
  description = "Self link of the VPC network."
  value       = google_compute_network.this.self_link
}

output "subnetworks" {
  description = "Subnetwork self links by region, for the Dataflow job's --subnetwork."
  value       = { for region, subnet in google_compute_subnetwork.workers : region => subnet.self_link }
}
