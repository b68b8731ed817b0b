//! The job's shared secret: attached to every outgoing RPC and required on every incoming one,
//! so a stray process can neither join the job nor push gradients.

use std::sync::Arc;

use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::{Request, Status};

/// The environment variable holding the secret.
pub const TOKEN_ENV: &str = "DISTML_CLUSTER_TOKEN";

/// A job's shared secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Arc<str>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret itself (logs, panics, error messages).
        f.write_str("Token(***)")
    }
}

impl Token {
    /// A token from text (`DISTML_CLUSTER_TOKEN`); `None` when empty or not header-safe.
    pub fn new(text: &str) -> Option<Self> {
        let ok = !text.is_empty() && text.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| Token(text.into()))
    }

    /// A fresh random token (256 bits from the OS) for a job whose processes we spawn.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        let from_os = std::fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
        if from_os.is_err() {
            // No /dev/urandom (not Linux/macOS): std's hasher keys are seeded by the OS.
            use std::hash::{BuildHasher, Hasher};
            for chunk in bytes.chunks_mut(8) {
                let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                h.write_u128(
                    std::time::UNIX_EPOCH
                        .elapsed()
                        .unwrap_or_default()
                        .as_nanos(),
                );
                chunk.copy_from_slice(&h.finish().to_le_bytes());
            }
        }
        Token(
            bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .into(),
        )
    }

    /// Reads `DISTML_CLUSTER_TOKEN`.
    pub fn from_env() -> Option<Self> {
        std::env::var(TOKEN_ENV).ok().and_then(|t| Token::new(&t))
    }

    /// The secret, to hand to a child process's environment.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// An interceptor adding the token to outgoing calls.
    pub fn attach(&self) -> AttachToken {
        AttachToken(
            format!("Bearer {}", self.0)
                .parse()
                .expect("a token is ASCII-graphic, hence a valid header value"),
        )
    }

    /// An interceptor refusing incoming calls without the token.
    pub fn check(&self) -> CheckToken {
        CheckToken(format!("Bearer {}", self.0).into_bytes().into())
    }
}

/// Adds `authorization: Bearer <token>` to every request.
#[derive(Clone)]
pub struct AttachToken(MetadataValue<tonic::metadata::Ascii>);

impl Interceptor for AttachToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

/// Refuses (UNAUTHENTICATED) every request whose `authorization` is not the job's token.
#[derive(Clone)]
pub struct CheckToken(Arc<[u8]>);

impl Interceptor for CheckToken {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let given = request
            .metadata()
            .get("authorization")
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if constant_time_eq(given, &self.0) {
            Ok(request)
        } else {
            Err(Status::unauthenticated(
                "missing or wrong cluster token (DISTML_CLUSTER_TOKEN)",
            ))
        }
    }
}

/// Compares without an early exit, so timing does not reveal a prefix of the secret.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_token_passes() {
        let token = Token::generate();
        assert_eq!(token.expose().len(), 64);
        assert_ne!(token, Token::generate());
        let mut check = token.check();
        let mut attach = token.attach();
        assert!(check.call(attach.call(Request::new(())).unwrap()).is_ok());
        let other = Token::new("not-the-token").unwrap();
        let refused = check.call(other.attach().call(Request::new(())).unwrap());
        assert_eq!(refused.unwrap_err().code(), tonic::Code::Unauthenticated);
        assert!(check.call(Request::new(())).is_err());
        assert!(Token::new("").is_none() && Token::new("a b").is_none());
        assert_eq!(format!("{token:?}"), "Token(***)");
    }
}
