# The receipt-signing key: an HSM-protected RSA-2048 key for RS256 (PKCS#1 v1.5, SHA-256)
# in its own key ring. Asymmetric keys have no automatic rotation: an operator creates a
# new version, publishes its public key beside the old ones and switches the job's
# --signer to it (docs/DEPLOY.md, "Rotating the signing key"). Old versions must stay
# enabled: their public keys verify every receipt they signed.
resource "google_kms_key_ring" "this" {
  project  = var.project_id
  name     = var.key_ring_name
  location = var.location
}

resource "google_kms_crypto_key" "signing" {
  #checkov:skip=CKV_GCP_43:Cloud KMS cannot rotate asymmetric keys automatically; rotation is an operator step (docs/DEPLOY.md) because every new version's public key must be published first.
  name     = var.key_name
  key_ring = google_kms_key_ring.this.id
  purpose  = "ASYMMETRIC_SIGN"
  labels   = var.labels

  version_template {
    algorithm        = "RSA_SIGN_PKCS1_2048_SHA256"
    protection_level = var.protection_level
  }

  # A destroyed key version can never verify again: the key outlives any terraform destroy.
  destroy_scheduled_duration = "2592000s"

  lifecycle {
    prevent_destroy = true
  }
}

data "google_kms_crypto_key_version" "first" {
  crypto_key = google_kms_crypto_key.signing.id
  version    = 1
}

# The log's checkpoint key: Ed25519 (pure, RFC 8032; KMS signs the note text itself), HSM,
# named for the log's origin in every checkpoint (docs/LOG.md). The log never changes its
# key lightly: every verifier holds its vkey.
resource "google_kms_crypto_key" "log" {
  #checkov:skip=CKV_GCP_43:Cloud KMS cannot rotate asymmetric keys automatically; a log's key is its identity, kept for the log's life.
  name     = var.log_key_name
  key_ring = google_kms_key_ring.this.id
  purpose  = "ASYMMETRIC_SIGN"
  labels   = var.labels

  version_template {
    algorithm        = "EC_SIGN_ED25519"
    protection_level = var.protection_level
  }

  destroy_scheduled_duration = "2592000s"

  lifecycle {
    prevent_destroy = true
  }
}

data "google_kms_crypto_key_version" "log_first" {
  crypto_key = google_kms_crypto_key.log.id
  version    = 1
}

# The delegated signer's wrapping key (--signer delegated://kms/…?wrap=THIS, docs/DEPLOY.md,
# "Choosing the signer"): a symmetric HSM key that encrypts each validity window's private
# key before Spanner keeps it (DelegatedKeys.WrappedPrivate). It rotates itself: a
# ciphertext names the version that made it, so old windows' keys still unwrap.
resource "google_kms_crypto_key" "delegated_wrapping" {
  name            = var.delegated_wrapping_key_name
  key_ring        = google_kms_key_ring.this.id
  purpose         = "ENCRYPT_DECRYPT"
  rotation_period = "7776000s" # 90 days
  labels          = var.labels

  version_template {
    algorithm        = "GOOGLE_SYMMETRIC_ENCRYPTION"
    protection_level = var.protection_level
  }

  # A destroyed version can unwrap nothing it wrapped: the key outlives any terraform destroy.
  destroy_scheduled_duration = "2592000s"

  lifecycle {
    prevent_destroy = true
  }
}
