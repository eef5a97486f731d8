//! A self-signed certificate for 127.0.0.1 and localhost, written as PEM files in a temporary
//! folder, and a rustls client setup that trusts it: the TLS servers of the tests (the
//! backend's, the CLI's and the bench's, which take this file in with `#[path]`).
#![allow(dead_code)]

use std::{path::PathBuf, sync::Arc};

/// The certificate's files (gone with the folder) and its DER form.
pub struct SelfSigned {
    pub dir: tempfile::TempDir,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub der: rustls::pki_types::CertificateDer<'static>,
}

impl SelfSigned {
    /// `--tls-cert` for the backend, or `--ca` for a client, as text.
    pub fn cert_path(&self) -> String {
        self.cert.to_string_lossy().into_owned()
    }

    pub fn key_path(&self) -> String {
        self.key.to_string_lossy().into_owned()
    }

    /// A rustls client setup that trusts this certificate alone.
    pub fn trusting(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.der.clone()).expect("root");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        Arc::new(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }
}

/// A fresh certificate for 127.0.0.1 and localhost.
pub fn self_signed() -> SelfSigned {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("certificate");
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).expect("write cert");
    std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write key");
    SelfSigned {
        dir,
        cert,
        key,
        der: certified.cert.der().clone(),
    }
}
