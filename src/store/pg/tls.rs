//! TLS to PostgreSQL, with libpq's `sslmode` meanings (rustls, with the ring provider that
//! ureq uses too):
//!
//! - `disable`: never;
//! - `prefer` (the default, as in libpq) and `require`: encrypted, the server's certificate
//!   not checked (`require` refuses a server without TLS, `prefer` falls back to plain);
//! - `verify-full`: encrypted, the certificate checked against `sslrootcert` (a PEM file;
//!   default or `system`: the system's trust store) and the host name.
//!
//! `verify-ca` (the chain without the name) is refused with a hint to use `verify-full`.
//! The URL's `sslmode` and `sslrootcert` are read here and taken out before the
//! `postgres` crate parses the rest (it knows neither `verify-full` nor `sslrootcert`).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

/// What `sslmode` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyFull { roots: Option<PathBuf> },
}

/// The system's trust store (Debian's bundle), where `sslrootcert` is not a file.
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Takes `sslmode` and `sslrootcert` out of a URL's query: the mode, and the URL the
/// `postgres` crate parses.
pub(crate) fn split(url: &str) -> Result<(Mode, String)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((Mode::Prefer, url.to_owned()));
    };
    let (mut mode, mut roots) = (None, None);
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => mode = Some(value.to_owned()),
            "sslrootcert" => roots = Some(percent_decode(value)),
            _ => rest.push(pair),
        }
    }
    let mode = match mode.as_deref().unwrap_or("prefer") {
        "disable" => Mode::Disable,
        "allow" | "prefer" => Mode::Prefer,
        "require" => Mode::Require,
        "verify-full" => Mode::VerifyFull {
            roots: roots.filter(|r| r != "system").map(PathBuf::from),
        },
        "verify-ca" => bail!(
            "sslmode=verify-ca is not supported: use sslmode=verify-full (the certificate and the host name)"
        ),
        other => bail!("sslmode={other} is not one of disable, prefer, require, verify-full"),
    };
    let url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((mode, url))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Mode {
    /// The `postgres` crate's own mode for this one.
    pub(crate) fn ssl_mode(&self) -> postgres::config::SslMode {
        match self {
            Mode::Disable => postgres::config::SslMode::Disable,
            Mode::Prefer => postgres::config::SslMode::Prefer,
            Mode::Require | Mode::VerifyFull { .. } => postgres::config::SslMode::Require,
        }
    }

    /// The connector: certificates checked (`verify-full`) or not.
    pub(crate) fn connector(&self) -> Result<MakeRustlsConnect> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .context("TLS: no protocol version")?;
        let config = match self {
            Mode::VerifyFull { roots } => {
                let file = roots.clone().unwrap_or_else(|| PathBuf::from(SYSTEM_ROOTS));
                let mut store = rustls::RootCertStore::empty();
                let certs = CertificateDer::pem_file_iter(&file)
                    .with_context(|| format!("cannot read sslrootcert {}", file.display()))?;
                for cert in certs {
                    let cert = cert.with_context(|| {
                        format!("sslrootcert {} holds a broken certificate", file.display())
                    })?;
                    store.add(cert).with_context(|| {
                        format!(
                            "sslrootcert {}: a certificate rustls refuses",
                            file.display()
                        )
                    })?;
                }
                if store.is_empty() {
                    bail!("sslrootcert {} holds no certificate", file.display());
                }
                builder.with_root_certificates(store).with_no_client_auth()
            }
            _ => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Unchecked(
                    provider.signature_verification_algorithms,
                )))
                .with_no_client_auth(),
        };
        Ok(MakeRustlsConnect::new(config))
    }
}

/// `prefer` and `require`: the connection is encrypted and the handshake's signatures are
/// checked, but the certificate is taken as it is (libpq's meaning of those modes).
#[derive(Debug)]
struct Unchecked(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmode_and_sslrootcert_are_read_and_taken_out() {
        let (mode, url) =
            split("postgres://q@db/quota?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x")
                .unwrap();
        assert_eq!(
            mode,
            Mode::VerifyFull {
                roots: Some("/etc/ca.pem".into())
            }
        );
        assert_eq!(url, "postgres://q@db/quota?application_name=x");
        assert_eq!(split("postgres://q@db/quota").unwrap().0, Mode::Prefer);
        assert_eq!(
            split("postgres://q@db/quota?sslmode=require").unwrap(),
            (Mode::Require, "postgres://q@db/quota".into())
        );
        let err = split("postgres://q@db/quota?sslmode=verify-ca").unwrap_err();
        assert!(err.to_string().contains("use sslmode=verify-full"), "{err}");
        assert!(split("postgres://q@db/quota?sslmode=bogus").is_err());
    }
}
