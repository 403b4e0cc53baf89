//! A fake Gemini API server for tests (placeholder; see the crate description).
