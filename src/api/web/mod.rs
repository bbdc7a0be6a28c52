//! The operator dashboard (`/`), one entry as a person reads it (`/services/{id}`) and the
//! front door to try (`/try`). Static pages built into the binary that read the JSON API;
//! nothing is loaded from elsewhere, and the content security policy says so.

use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use super::error::ApiError;

/// An asset: its name under `/assets/`, its media type and its bytes.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    body: &'static str,
}

const PAGES: [Asset; 3] = [
    Asset {
        name: "index.html",
        media_type: "text/html; charset=utf-8",
        body: include_str!("assets/index.html"),
    },
    Asset {
        name: "service.html",
        media_type: "text/html; charset=utf-8",
        body: include_str!("assets/service.html"),
    },
    Asset {
        name: "try.html",
        media_type: "text/html; charset=utf-8",
        body: include_str!("assets/try.html"),
    },
];

const ASSETS: [Asset; 5] = [
    Asset {
        name: "app.css",
        media_type: "text/css; charset=utf-8",
        body: include_str!("assets/app.css"),
    },
    Asset {
        name: "app.js",
        media_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/app.js"),
    },
    Asset {
        name: "dashboard.js",
        media_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/dashboard.js"),
    },
    Asset {
        name: "service.js",
        media_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/service.js"),
    },
    Asset {
        name: "try.js",
        media_type: "text/javascript; charset=utf-8",
        body: include_str!("assets/try.js"),
    },
];

/// Only this origin: no CDN, no external fonts, no inline script, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// `GET /`, `GET /services/{id}`, `GET /try`.
pub fn page(name: &str) -> Response {
    let asset = PAGES
        .iter()
        .find(|a| a.name == name)
        .expect("pages are named in the routes");
    // Pages change with the binary; they are small, so they are always revalidated.
    respond(asset, "no-cache")
}

/// `GET /assets/{name}`.
pub fn asset(name: &str) -> Result<Response, ApiError> {
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map(|a| respond(a, "public, max-age=300"))
        .ok_or_else(|| ApiError::NotFound(format!("no asset '{name}'")))
}

fn respond(asset: &Asset, cache: &'static str) -> Response {
    let mut response = Response::new(asset.body.into());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.media_type),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_load_nothing_from_outside_and_every_script_they_name_exists() {
        for page in &PAGES {
            for needle in ["http://", "https://", "//fonts", "cdn"] {
                assert!(
                    !page.body.contains(needle),
                    "{} mentions {needle}",
                    page.name
                );
            }
            for part in page
                .body
                .split("src=\"/assets/")
                .skip(1)
                .chain(page.body.split("href=\"/assets/").skip(1))
            {
                let name = &part[..part.find('"').unwrap()];
                assert!(
                    ASSETS.iter().any(|a| a.name == name),
                    "{} names {name}",
                    page.name
                );
            }
        }
    }
}
