output "key_ring" {
  description = "Key ring id."
  value       = google_kms_key_ring.this.id
}

output "crypto_key" {
  description = "Signing key id (projects/P/locations/L/keyRings/R/cryptoKeys/K)."
  value       = google_kms_crypto_key.signing.id
}

output "first_version" {
  description = "The first key version's name: the job signs with kms://THIS until a rotation."
  value       = data.google_kms_crypto_key_version.first.name
}

output "first_version_public_key_pem" {
  description = "Public key of the first version (receipts keys pem --kms-key gives the same)."
  value       = data.google_kms_crypto_key_version.first.public_key[0].pem
}

output "log_crypto_key" {
  description = "The log's checkpoint key id (EC_SIGN_ED25519)."
  value       = google_kms_crypto_key.log.id
}

output "log_first_version" {
  description = "The log key's first version: the job signs checkpoints with kms://THIS."
  value       = data.google_kms_crypto_key_version.log_first.name
}

output "delegated_wrapping_key" {
  description = "The delegated signer's wrapping key (ENCRYPT_DECRYPT): delegated://kms/VERSION?wrap=THIS."
  value       = google_kms_crypto_key.delegated_wrapping.id
}
