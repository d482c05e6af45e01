//! Unit tests of the settings and their checks.

use super::*;
#[test]
fn debug_hides_the_key() {
    let builder = ClientBuilder::new().api_key("sk-secret-123");
    assert!(!format!("{builder:?}").contains("sk-secret-123"));
    let config = builder.into_config(true).unwrap();
    assert!(!format!("{config:?}").contains("sk-secret-123"));
}
