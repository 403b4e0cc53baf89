//! `fake-gemini`: runs the fake server (placeholder).
fn main() {}
