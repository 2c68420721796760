//! The service CA, its certificates (users, the time-stamping authority)
//! and later its revocation data. The CA key is in the HSM; rcgen builds
//! the certificates and asks the HSM to sign them.

pub mod crl;
pub mod ocsp;
pub mod publish;
pub mod standing;

use crate::clock::Clock;
use crate::entropy::{Entropy, random_bytes};
use crate::error::{Error, Result};
use crate::hsm::Hsm;
use crate::store::{CertificateRow, Store};
use der::{Decode, Encode};
use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, CustomExtension, DistinguishedName, DnType, IsCa,
    Issuer, KeyIdMethod, KeyUsagePurpose, PublicKeyData, SerialNumber, SignatureAlgorithm, SigningKey,
};
use sha2::{Digest, Sha256};

const CA_CERT: &str = "ca-certificate";
const TSA_CERT: &str = "tsa-certificate";
const TSA_COMMON_NAME: &str = "wysiwys time-stamping authority";
const CA_COMMON_NAME: &str = "wysiwys signing CA";
const ORGANISATION: &str = "wysiwys";
const USER_CERT_DAYS: i64 = 2 * 365;
const CA_CERT_DAYS: i64 = 10 * 365;
/// The TSA's certificate must outlive the user certificates by years: a
/// B-LTA signature is checked, long after its signer's certificate expired,
/// against the timestamps this key made.
const TSA_CERT_DAYS: i64 = 9 * 365;
/// id-ce-extKeyUsage and id-kp-timeStamping.
const OID_EXT_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
const OID_KP_TIME_STAMPING: &str = "1.3.6.1.5.5.7.3.8";
/// id-pe-authorityInfoAccess and id-ad-ocsp.
const OID_AUTHORITY_INFO_ACCESS: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];
const OID_AD_OCSP: &str = "1.3.6.1.5.5.7.48.1";
/// Where the service's PKI endpoints are, recorded by `serve` so that the
/// command line issues certificates naming the same places.
const PKI_BASE_URL: &str = "pki-base-url";

/// Where a certificate says its revocation status is published: the CRL
/// distribution point and the OCSP responder (authority information access).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distribution {
    pub crl_url: String,
    pub ocsp_url: String,
}

impl Distribution {
    fn from_base(base: &str) -> Distribution {
        Distribution { crl_url: format!("{base}/crl"), ocsp_url: format!("{base}/ocsp") }
    }

    /// Records the origin `serve` answers at; returns what certificates name.
    pub async fn record(store: &Store, origin: &str) -> Result<Distribution> {
        let base = format!("{}/api/pki", origin.trim_end_matches('/'));
        store.set_pki_object(PKI_BASE_URL, base.as_bytes()).await?;
        Ok(Distribution::from_base(&base))
    }

    /// What the last `serve` recorded; `None` before any server ran.
    pub async fn recorded(store: &Store) -> Result<Option<Distribution>> {
        let base = store.pki_object(PKI_BASE_URL).await?;
        Ok(base.map(|b| Distribution::from_base(&String::from_utf8_lossy(&b))))
    }

    fn apply(&self, params: &mut CertificateParams) {
        params.crl_distribution_points = vec![CrlDistributionPoint { uris: vec![self.crl_url.clone()] }];
        // AuthorityInfoAccessSyntax: one AccessDescription, [6] IA5String URI.
        let access = crate::der_writer::seq(&[&crate::der_writer::seq(&[
            &crate::der_writer::oid(OID_AD_OCSP),
            &crate::der_writer::tlv(0x86, self.ocsp_url.as_bytes()),
        ])]);
        params.custom_extensions.push(CustomExtension::from_oid_content(OID_AUTHORITY_INFO_ACCESS, access));
    }
}

/// The CA key as rcgen sees it: a public point and a signing callback into the HSM.
struct HsmCaKey<'a> {
    hsm: &'a Hsm,
    public: Vec<u8>,
}

impl PublicKeyData for HsmCaKey<'_> {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl SigningKey for HsmCaKey<'_> {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let raw = self.hsm.sign_as_ca(message).map_err(|e| {
            tracing::error!(error = %e, "HSM refused to sign a certificate");
            rcgen::Error::RemoteKeyError
        })?;
        let signature = p256::ecdsa::Signature::from_slice(&raw).map_err(|_| rcgen::Error::RemoteKeyError)?;
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

/// A user's public key (in the HSM) as the subject of a certificate.
struct SubjectKey(Vec<u8>);

impl PublicKeyData for SubjectKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

fn key_id(point: &[u8]) -> Vec<u8> {
    Sha256::digest(point)[..20].to_vec()
}

fn ca_params(ca_point: &[u8]) -> CertificateParams {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, ORGANISATION);
    dn.push(DnType::CommonName, CA_COMMON_NAME);
    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.key_identifier_method = KeyIdMethod::PreSpecified(key_id(ca_point));
    params
}

/// The CA as the issuer of what it signs, its key in the HSM.
fn ca_issuer(hsm: &Hsm) -> Result<Issuer<'static, HsmCaKey<'_>>> {
    let public = hsm.ca_public_key()?;
    Ok(Issuer::new(ca_params(&public), HsmCaKey { hsm, public }))
}

/// `O=wysiwys, CN=<name>` with one key usage.
fn end_entity(common_name: &str, usage: KeyUsagePurpose) -> CertificateParams {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, ORGANISATION);
    dn.push(DnType::CommonName, common_name);
    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    params.key_usages = vec![usage];
    params
}

fn validity(params: &mut CertificateParams, now_ms: i64, days: i64) -> Result<()> {
    let now = time::OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000))
        .map_err(|e| Error::Internal(format!("clock: {e}")))?;
    // Back-dated an hour so that a verifier with a slightly slow clock agrees.
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(days);
    Ok(())
}

fn serial(mut bytes: [u8; 16]) -> SerialNumber {
    bytes[0] &= 0x7f; // positive INTEGER
    bytes[0] |= 0x01; // and no leading zero byte to strip
    SerialNumber::from_slice(&bytes)
}

/// Returns the CA certificate (DER), creating it on first start. With many
/// nodes the first one to store it wins and every node uses that one.
pub async fn ensure_ca(store: &Store, hsm: &Hsm, clock: &dyn Clock, entropy: &dyn Entropy) -> Result<Vec<u8>> {
    if let Some(der) = store.pki_object(CA_CERT).await? {
        return Ok(der);
    }
    let public = hsm.ca_public_key()?;
    let mut params = ca_params(&public);
    validity(&mut params, clock.now_ms(), CA_CERT_DAYS)?;
    params.serial_number = Some(serial(random_bytes::<16>(entropy)?));
    let key = HsmCaKey { hsm, public };
    let cert = params.self_signed(&key).map_err(|e| Error::Internal(format!("CA certificate: {e}")))?;
    tracing::info!("created the CA certificate");
    store.put_pki_object(CA_CERT, cert.der()).await
}

/// Returns the built-in TSA's certificate (DER), issuing it on first start.
/// RFC 3161 2.3: extended key usage timeStamping only, and critical.
pub async fn ensure_tsa(
    store: &Store,
    hsm: &Hsm,
    clock: &dyn Clock,
    entropy: &dyn Entropy,
    distribution: &Distribution,
) -> Result<Vec<u8>> {
    if let Some(der) = store.pki_object(TSA_CERT).await? {
        store.register_certificate(&certificate_row(&der, None, None, clock.now_ms())?).await?;
        return Ok(der);
    }
    let issuer = ca_issuer(hsm)?;
    let point = hsm.tsa_public_key()?;
    let mut params = end_entity(TSA_COMMON_NAME, KeyUsagePurpose::DigitalSignature);
    let mut eku = CustomExtension::from_oid_content(
        OID_EXT_KEY_USAGE,
        crate::der_writer::seq(&[&crate::der_writer::oid(OID_KP_TIME_STAMPING)]),
    );
    eku.set_criticality(true);
    params.custom_extensions = vec![eku];
    distribution.apply(&mut params);
    params.use_authority_key_identifier_extension = true;
    params.key_identifier_method = KeyIdMethod::PreSpecified(key_id(&point));
    params.serial_number = Some(serial(random_bytes::<16>(entropy)?));
    validity(&mut params, clock.now_ms(), TSA_CERT_DAYS)?;
    let cert =
        params.signed_by(&SubjectKey(point), &issuer).map_err(|e| Error::Internal(format!("TSA certificate: {e}")))?;
    tracing::info!("issued the time-stamping authority's certificate");
    let der = store.put_pki_object(TSA_CERT, cert.der()).await?;
    store.register_certificate(&certificate_row(&der, None, None, clock.now_ms())?).await?;
    Ok(der)
}

/// The serial's INTEGER content bytes, as the register keys them.
pub fn serial_of(der: &[u8]) -> Result<Vec<u8>> {
    let cert = x509_cert::Certificate::from_der(der).map_err(|e| Error::Internal(format!("certificate: {e}")))?;
    Ok(cert.tbs_certificate().serial_number().as_bytes().to_vec())
}

/// A register row for a certificate, valid from now.
pub fn certificate_row(
    der: &[u8],
    user_id: Option<&str>,
    credential_id: Option<&str>,
    now_ms: i64,
) -> Result<CertificateRow> {
    let cert = x509_cert::Certificate::from_der(der).map_err(|e| Error::Internal(format!("certificate: {e}")))?;
    let validity = cert.tbs_certificate().validity();
    let ms = |t: x509_cert::time::Time| i64::try_from(t.to_unix_duration().as_millis()).unwrap_or(i64::MAX);
    Ok(CertificateRow {
        serial: cert.tbs_certificate().serial_number().as_bytes().to_vec(),
        user_id: user_id.map(str::to_owned),
        credential_id: credential_id.map(str::to_owned),
        der: cert.to_der().map_err(|e| Error::Internal(format!("certificate: {e}")))?,
        not_before: ms(validity.not_before),
        not_after: ms(validity.not_after),
        status: "valid".into(),
        revoked_at: None,
        reason: None,
        created_at: now_ms,
    })
}

/// The register's row of the user's current certificate.
pub async fn current_certificate(store: &Store, user: &crate::store::UserRow) -> Result<CertificateRow> {
    let serial = serial_of(&user.certificate)?;
    store
        .certificate(&serial)
        .await?
        .ok_or_else(|| Error::Internal(format!("the certificate of user {} is not registered", user.id)))
}

/// Registers the certificates of users made before the register existed.
pub async fn register_existing(store: &Store, now_ms: i64) -> Result<usize> {
    let missing = store.users_without_registered_certificate().await?;
    for (user_id, credential_id, der) in &missing {
        store.register_certificate(&certificate_row(der, Some(user_id), Some(credential_id), now_ms)?).await?;
    }
    if !missing.is_empty() {
        tracing::info!(count = missing.len(), "registered the certificates of existing users");
    }
    Ok(missing.len())
}

/// Issues a user's signing certificate: key usage nonRepudiation only, as
/// for certificates used for electronic signatures.
pub fn issue_user_certificate(
    hsm: &Hsm,
    username: &str,
    user_point: &[u8],
    now_ms: i64,
    serial_bytes: [u8; 16],
    distribution: Option<&Distribution>,
) -> Result<Vec<u8>> {
    let issuer = ca_issuer(hsm)?;
    let mut params = end_entity(username, KeyUsagePurpose::ContentCommitment);
    if let Some(distribution) = distribution {
        distribution.apply(&mut params);
    }
    params.use_authority_key_identifier_extension = true;
    params.key_identifier_method = KeyIdMethod::PreSpecified(key_id(user_point));
    params.serial_number = Some(serial(serial_bytes));
    validity(&mut params, now_ms, USER_CERT_DAYS)?;
    let cert = params
        .signed_by(&SubjectKey(user_point.to_vec()), &issuer)
        .map_err(|e| Error::Internal(format!("user certificate: {e}")))?;
    Ok(cert.der().to_vec())
}

pub fn to_pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
