//! A TLS front for a test server, with a certificate for `localhost` from a
//! private CA: what a deployment behind nginx and an in-house CA looks like.

use std::sync::Arc;

pub struct TlsFront {
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    /// `https://localhost:<port>`: give it to the server as its public origin.
    pub origin: String,
    /// The private CA, PEM.
    pub ca_pem: String,
}

impl std::fmt::Debug for TlsFront {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFront").field("origin", &self.origin).finish_non_exhaustive()
    }
}

impl TlsFront {
    /// Listens on a free port; nothing is forwarded until `forward_to`.
    pub async fn bind() -> TlsFront {
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA");
        let leaf_key = rcgen::KeyPair::generate().expect("key");
        let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .expect("params")
            .signed_by(&leaf_key, &ca)
            .expect("certificate");
        let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                tokio_rustls::rustls::pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).expect("key DER"),
            )
            .expect("TLS config");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        TlsFront {
            listener,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            origin: format!("https://localhost:{port}"),
            ca_pem: ca.pem(),
        }
    }

    /// Forwards every connection, decrypted, to the server at `backend_origin` (http).
    pub fn forward_to(self, backend_origin: &str) {
        let backend = backend_origin.trim_start_matches("http://").to_owned();
        let TlsFront { listener, acceptor, .. } = self;
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, backend) = (acceptor.clone(), backend.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                    let Ok(mut plain) = tokio::net::TcpStream::connect(&backend).await else { return };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
    }
}
