//! TLS for every HTTP client the host builds: rustls with the *ring* crypto
//! provider. reqwest is compiled without a provider of its own (its default,
//! aws-lc-rs, is a large C build that doubled the host's compile time on two
//! cores), so every client comes from [`client_builder`], which installs ring
//! as the process's provider first.

/// A reqwest client builder whose TLS uses ring. A program embedding the host
/// that installed its own rustls provider keeps it.
pub fn client_builder() -> reqwest::ClientBuilder {
    // `Err` means a provider is already installed, which is all that is needed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}
