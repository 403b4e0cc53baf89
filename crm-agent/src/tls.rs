//! What the HTTP clients (Gemini, an OAuth authorization server) need of rustls.

use std::sync::Once;

/// rustls needs a process-wide crypto provider; crm-agent uses ring (it builds much faster
/// than aws-lc-rs). A host that installed its own keeps it.
pub(crate) fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
