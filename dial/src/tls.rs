//! The rustls client setup for wss://: the system's roots plus `--ca FILE`, or with
//! `--insecure` any certificate (its handshake signatures still checked).

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
};

use rustls::{
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::CryptoProvider,
    ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::{pem::PemObject, CertificateDer, ServerName, UnixTime};

/// Why the TLS setup could not be made from the flags.
#[derive(Debug)]
pub enum TlsSetupError {
    /// rustls refused to set up (no usable protocol version).
    Setup(rustls::Error),
    /// `--ca FILE` could not be read as PEM certificates.
    CaUnreadable {
        path: PathBuf,
        why: rustls_pki_types::pem::Error,
    },
    /// `--ca FILE` holds no certificate.
    CaEmpty { path: PathBuf },
    /// A certificate in `--ca FILE` was refused as a root.
    CaRejected { path: PathBuf, why: rustls::Error },
}

impl fmt::Display for TlsSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsSetupError::Setup(why) => write!(f, "TLS setup failed: {why}"),
            TlsSetupError::CaUnreadable { path, why } => write!(
                f,
                "--ca {}: cannot read PEM certificates: {why}",
                path.display()
            ),
            TlsSetupError::CaEmpty { path } => {
                write!(f, "--ca {}: no certificate in the file", path.display())
            }
            TlsSetupError::CaRejected { path, why } => {
                write!(f, "--ca {}: {why}", path.display())
            }
        }
    }
}

impl std::error::Error for TlsSetupError {}

/// The client setup: with `insecure`, any certificate; otherwise the system's roots and the
/// certificates in `ca`, if given.
pub fn client_config(insecure: bool, ca: Option<&Path>) -> Result<ClientConfig, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(TlsSetupError::Setup)?;
    if insecure {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth());
    }
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|why| TlsSetupError::CaUnreadable {
                path: path.to_owned(),
                why,
            })?;
        if certs.is_empty() {
            return Err(TlsSetupError::CaEmpty {
                path: path.to_owned(),
            });
        }
        for cert in certs {
            roots.add(cert).map_err(|why| TlsSetupError::CaRejected {
                path: path.to_owned(),
                why,
            })?;
        }
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// `--insecure`: any certificate is accepted, but the handshake signatures are still checked.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
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
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_a_typed_error_naming_the_file() {
        let missing = client_config(false, Some(Path::new("/nonexistent/ca.pem")));
        assert!(
            matches!(missing, Err(TlsSetupError::CaUnreadable { .. })),
            "{missing:?}"
        );
        let empty = std::env::temp_dir().join(format!("ws-dial-empty-{}.pem", std::process::id()));
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let result = client_config(false, Some(&empty));
        let _ = std::fs::remove_file(&empty);
        match result {
            Err(error @ TlsSetupError::CaEmpty { .. }) => {
                assert!(error.to_string().contains("no certificate"), "{error}")
            }
            other => panic!("expected CaEmpty, got {other:?}"),
        }
    }

    #[test]
    fn insecure_needs_no_roots() {
        assert!(client_config(true, None).is_ok());
    }
}
