//! Secrets the host signs with rather than writes into a header: AWS SigV4
//! and Google service-account access tokens. The broker signs a request as
//! the last step before sending it, only to the origins the secret is granted
//! for; the guest never sees keys, signatures or tokens.

pub mod credentials;

pub use credentials::aws_credentials_json;
