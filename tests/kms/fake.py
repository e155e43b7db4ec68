"""A Cloud KMS stand-in: a real gRPC server speaking KeyManagementService's GetPublicKey and
AsymmetricSign with real RSA-2048 keys (Encrypt and Decrypt with AES-256-GCM symmetric
keys), so the real `google-cloud-kms` client talks to it over gRPC and what it signs
verifies like any RS256 signature; and, as KMS does for EC_SIGN_ED25519 versions, pure
Ed25519 over the request's `data` (a digest is refused).

Faults on demand: answer the next calls with a gRPC status (UNAVAILABLE, …), corrupt a
checksum or the signature, claim the request's CRC32C did not arrive. It records calls and
the most calls it had in flight at once, so tests can see that signing overlaps.
"""

import os
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import google_crc32c
import grpc
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.cloud import kms_v1
from google.cloud.kms_v1.services.key_management_service.transports import KeyManagementServiceGrpcTransport

SERVICE = "google.cloud.kms.v1.KeyManagementService"
KEY_RING = "projects/billing-test/locations/us/keyRings/receipts"
VERSION = f"{KEY_RING}/cryptoKeys/receipt-signing/cryptoKeyVersions/1"
LOG_VERSION = f"{KEY_RING}/cryptoKeys/log-signing/cryptoKeyVersions/1"
WRAP_KEY = f"{KEY_RING}/cryptoKeys/delegated-key-wrapping"
Algorithm = kms_v1.CryptoKeyVersion.CryptoKeyVersionAlgorithm

# Ways to spoil a response: each name is a fault the signer must catch.
CORRUPTIONS = ("signature_crc32c", "signature", "unverified_digest", "name", "pem_crc32c")


@dataclass
class Version:
    key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    algorithm: Any = Algorithm.RSA_SIGN_PKCS1_2048_SHA256


@dataclass
class FakeKms:
    delay: float = 0.0  # seconds each AsymmetricSign takes, so that concurrency shows
    versions: dict[str, Version] = field(default_factory=dict)
    failures: list[grpc.StatusCode] = field(default_factory=list)  # the next calls' answers, in order
    corrupt: dict[str, int] = field(default_factory=dict)  # fault name -> how many responses to spoil
    crypto_keys: dict[str, bytes] = field(default_factory=dict)  # ENCRYPT_DECRYPT key name -> AES-256 key
    sign_calls: int = 0
    public_key_calls: int = 0
    encrypt_calls: int = 0
    decrypt_calls: int = 0
    in_flight: int = 0
    max_in_flight: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: grpc.Server | None = None
        self.address = ""

    # -- keys --------------------------------------------------------------------------
    def add_version(self, name: str = VERSION, algorithm: Any = Algorithm.RSA_SIGN_PKCS1_2048_SHA256) -> str:
        if algorithm == Algorithm.EC_SIGN_ED25519:
            key: Any = ed25519.Ed25519PrivateKey.generate()
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.versions[name] = Version(key, algorithm)
        return name

    def add_crypto_key(self, name: str = WRAP_KEY) -> str:
        self.crypto_keys[name] = AESGCM.generate_key(bit_length=256)
        return name

    @property
    def calls(self) -> int:
        """Every KMS call so far, whatever the method."""
        return self.sign_calls + self.public_key_calls + self.encrypt_calls + self.decrypt_calls

    def public_pem(self, name: str = VERSION) -> bytes:
        return (
            self.versions[name]
            .key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )

    # -- the server --------------------------------------------------------------------
    def start(self) -> str:
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
        sign = _unary(self._asymmetric_sign, kms_v1.AsymmetricSignRequest, kms_v1.AsymmetricSignResponse)
        handlers = {
            "GetPublicKey": _unary(self._get_public_key, kms_v1.GetPublicKeyRequest, kms_v1.PublicKey),
            "AsymmetricSign": sign,
            "Encrypt": _unary(self._encrypt, kms_v1.EncryptRequest, kms_v1.EncryptResponse),
            "Decrypt": _unary(self._decrypt, kms_v1.DecryptRequest, kms_v1.DecryptResponse),
        }
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        self.address = f"127.0.0.1:{port}"
        return self.address

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None)

    def client(self) -> kms_v1.KeyManagementServiceClient:
        """The real client, over a plaintext channel to this server."""
        return kms_v1.KeyManagementServiceClient(
            transport=KeyManagementServiceGrpcTransport(channel=grpc.insecure_channel(self.address))
        )

    # -- methods -----------------------------------------------------------------------
    def _take_fault(self, name: str) -> bool:
        with self._lock:
            left = self.corrupt.get(name, 0)
            if left:
                self.corrupt[name] = left - 1
            return bool(left)

    def _take_failure(self) -> grpc.StatusCode | None:
        with self._lock:
            return self.failures.pop(0) if self.failures else None

    def _version(self, name: str, context: grpc.ServicerContext) -> Version:
        version = self.versions.get(name)
        if version is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"CryptoKeyVersion {name} not found.")
        return version

    def _get_public_key(self, request: kms_v1.GetPublicKeyRequest, context: grpc.ServicerContext) -> kms_v1.PublicKey:
        with self._lock:
            self.public_key_calls += 1
        failure = self._take_failure()
        if failure is not None:
            context.abort(failure, "injected failure")
        version = self._version(request.name, context)
        pem = self.public_pem(request.name).decode()
        crc = google_crc32c.value(pem.encode())
        if self._take_fault("pem_crc32c"):
            crc ^= 1
        return kms_v1.PublicKey(
            pem=pem,
            algorithm=version.algorithm,
            pem_crc32c=crc,
            name=request.name,
            protection_level=kms_v1.ProtectionLevel.HSM,
        )

    def _asymmetric_sign(
        self, request: kms_v1.AsymmetricSignRequest, context: grpc.ServicerContext
    ) -> kms_v1.AsymmetricSignResponse:
        with self._lock:
            self.sign_calls += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                time.sleep(self.delay)
            failure = self._take_failure()
            if failure is not None:
                context.abort(failure, "injected failure")
            version = self._version(request.name, context)
            if version.algorithm == Algorithm.EC_SIGN_ED25519:
                signature, arrived = self._sign_data(version, request, context)
            else:
                signature, arrived = self._sign_digest(version, request, context)
            crc = google_crc32c.value(signature)
            if self._take_fault("signature_crc32c"):
                crc ^= 1
            if self._take_fault("signature"):  # a consistent checksum over a wrong signature
                signature = bytes([signature[0] ^ 1]) + signature[1:]
                crc = google_crc32c.value(signature)
            return kms_v1.AsymmetricSignResponse(
                signature=signature,
                signature_crc32c=crc,
                verified_digest_crc32c=arrived and version.algorithm != Algorithm.EC_SIGN_ED25519,
                verified_data_crc32c=arrived and version.algorithm == Algorithm.EC_SIGN_ED25519,
                name=f"{request.name}-other" if self._take_fault("name") else request.name,
                protection_level=kms_v1.ProtectionLevel.HSM,
            )
        finally:
            with self._lock:
                self.in_flight -= 1

    def _sign_digest(
        self, version: Version, request: kms_v1.AsymmetricSignRequest, context: grpc.ServicerContext
    ) -> tuple[bytes, bool]:
        digest = request.digest.sha256
        if len(digest) != 32:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "digest.sha256 must be 32 bytes")
        # As KMS does: a checksum that arrived and does not match is refused; one that did
        # not arrive is answered with verified_digest_crc32c = false.
        arrived = "digest_crc32c" in request and not self._take_fault("unverified_digest")
        if arrived and google_crc32c.value(digest) != request.digest_crc32c:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "digest_crc32c does not match digest")
        return version.key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256())), arrived

    def _sign_data(
        self, version: Version, request: kms_v1.AsymmetricSignRequest, context: grpc.ServicerContext
    ) -> tuple[bytes, bool]:
        """EC_SIGN_ED25519: pure Ed25519 over `data`; KMS refuses a digest for it."""
        if "digest" in request:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "EC_SIGN_ED25519 signs data, not a digest")
        data = request.data
        arrived = "data_crc32c" in request and not self._take_fault("unverified_digest")
        if arrived and google_crc32c.value(data) != request.data_crc32c:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "data_crc32c does not match data")
        return version.key.sign(data), arrived

    def _crypto_key(self, name: str, context: grpc.ServicerContext) -> bytes:
        key = self.crypto_keys.get(name)
        if key is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"CryptoKey {name} not found.")
        return key

    def _encrypt(self, request: kms_v1.EncryptRequest, context: grpc.ServicerContext) -> kms_v1.EncryptResponse:
        """As KMS: AES-256-GCM with the additional authenticated data; checksums checked both ways."""
        with self._lock:
            self.encrypt_calls += 1
        key = self._crypto_key(request.name, context)
        plaintext, aad = request.plaintext, request.additional_authenticated_data
        if "plaintext_crc32c" in request and google_crc32c.value(plaintext) != request.plaintext_crc32c:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "plaintext_crc32c does not match plaintext")
        _check_aad_crc32c(request, context)
        nonce = os.urandom(12)
        ciphertext = nonce + AESGCM(key).encrypt(nonce, plaintext, aad)
        return kms_v1.EncryptResponse(
            name=f"{request.name}/cryptoKeyVersions/1",
            ciphertext=ciphertext,
            ciphertext_crc32c=google_crc32c.value(ciphertext),
            verified_plaintext_crc32c="plaintext_crc32c" in request,
            verified_additional_authenticated_data_crc32c="additional_authenticated_data_crc32c" in request,
            protection_level=kms_v1.ProtectionLevel.HSM,
        )

    def _decrypt(self, request: kms_v1.DecryptRequest, context: grpc.ServicerContext) -> kms_v1.DecryptResponse:
        with self._lock:
            self.decrypt_calls += 1
        key = self._crypto_key(request.name, context)
        ciphertext = request.ciphertext
        if "ciphertext_crc32c" in request and google_crc32c.value(ciphertext) != request.ciphertext_crc32c:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "ciphertext_crc32c does not match ciphertext")
        _check_aad_crc32c(request, context)
        try:
            plaintext = AESGCM(key).decrypt(ciphertext[:12], ciphertext[12:], request.additional_authenticated_data)
        except Exception:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Decryption failed: the ciphertext is invalid.")
        return kms_v1.DecryptResponse(
            plaintext=plaintext,
            plaintext_crc32c=google_crc32c.value(plaintext),
            used_primary=True,
            protection_level=kms_v1.ProtectionLevel.HSM,
        )


def _check_aad_crc32c(request: Any, context: grpc.ServicerContext) -> None:
    """As KMS: a checksum of the additional authenticated data that arrived must match it."""
    aad = request.additional_authenticated_data
    if "additional_authenticated_data_crc32c" in request and (
        google_crc32c.value(aad) != request.additional_authenticated_data_crc32c
    ):
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "additional_authenticated_data_crc32c does not match")


def _unary(method: Callable, request_type: Any, response_type: Any) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(
        method, request_deserializer=request_type.deserialize, response_serializer=response_type.serialize
    )
