//! The web chat page, embedded in the binary (no CDN, nothing to deploy beside it).

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_CSS: &str = include_str!("assets/app.css");
/// The page's ES modules: index.html loads `app.js`, which imports the others by relative URL.
/// The browser fetches each one as it is, so every module the page imports is served here.
const MODULES: [(&str, &str); 6] = [
    ("/assets/app.js", include_str!("assets/app.js")),
    ("/assets/api.js", include_str!("assets/api.js")),
    ("/assets/dom.js", include_str!("assets/dom.js")),
    ("/assets/format.js", include_str!("assets/format.js")),
    ("/assets/markdown.js", include_str!("assets/markdown.js")),
    ("/assets/sse.js", include_str!("assets/sse.js")),
];

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The page is tiny and changes with the binary; revalidate instead of caching stale copies.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    response
}

/// `/`, `/assets/app.css` and the modules (`/assets/app.js`, `/assets/markdown.js`, …).
pub(super) fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut router = Router::new()
        .route(
            "/",
            get(|| async {
                let mut response = asset(INDEX_HTML, "text/html; charset=utf-8");
                // The page runs only its own script and talks only to this server.
                response.headers_mut().insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(
                        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                         connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
                    ),
                );
                response
            }),
        )
        .route("/assets/app.css", get(|| async { asset(APP_CSS, "text/css; charset=utf-8") }));
    for (path, body) in MODULES {
        router = router.route(path, get(move || async move { asset(body, "text/javascript; charset=utf-8") }));
    }
    router
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module that is imported but not served stops the whole page, with nothing on screen.
    #[test]
    fn every_module_the_page_imports_is_served() {
        let served = |path: &str| MODULES.iter().any(|&(module, _)| module == path);
        assert!(INDEX_HTML.contains(r#"<script type="module" src="/assets/app.js"></script>"#));
        assert!(served("/assets/app.js"));
        for (path, body) in MODULES {
            let imports: Vec<&str> = body
                .lines()
                .filter(|line| line.starts_with("import "))
                .map(|line| line.split(" from './").nth(1).and_then(|rest| rest.strip_suffix("';")).unwrap_or(line))
                .collect();
            for import in imports {
                assert!(served(format!("/assets/{import}").as_str()), "{path} imports {import:?}, which is not served");
            }
        }
    }
}
