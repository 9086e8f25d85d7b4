"""A throwaway certificate authority and the seal certificate it issues: for the local run
(manage.py make_dev_seal), the tests and the benchmark. Never for production, whose seal
certificate comes from a real authority through SEAL_KEY_FILE and SEAL_CERT_FILE."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test NHSmail federation portal"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem(certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_usage(*, key_cert_sign: bool, content_commitment: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=content_commitment,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def make_seal_ca(directory: Path, label: str = "Test") -> dict[str, str]:
    """Write ca.pem, seal.pem and seal.key under directory; their paths by name."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} CA"))
        .issuer_name(_name(f"{label} CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, content_commitment=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    seal_key = ec.generate_private_key(ec.SECP256R1())
    seal = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} portal seal"))
        .issuer_name(ca.subject)
        .public_key(seal_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(_key_usage(key_cert_sign=False, content_commitment=True), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    paths = {
        "ca": directory / "ca.pem",
        "cert": directory / "seal.pem",
        "key": directory / "seal.key",
    }
    paths["ca"].write_bytes(_pem(ca))
    paths["cert"].write_bytes(_pem(seal))
    paths["key"].write_bytes(
        seal_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return {name: str(path) for name, path in paths.items()}
