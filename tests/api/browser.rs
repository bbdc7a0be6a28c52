//! The pages in a real browser: Debian's headless Chromium driven over WebDriver (the W3C
//! protocol, spoken with reqwest to `chromedriver`) against a Veiviser on loopback with
//! local health targets. Screenshots go to `target/browser-artifacts/`.
//!
//! Without Chromium these tests say so and pass, except under `CI=true`, where a missing
//! browser fails them: CI installs it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};
use crate::targets::{Behaviour, Target};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver of our own and one browser session.
struct Browser {
    driver: Child,
    http: reqwest::Client,
    session: String,
}

fn find_program(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

impl Browser {
    /// A headless Chromium, or `None` (outside CI) when none is installed.
    async fn start() -> Option<Browser> {
        veiviser::outbound::install_crypto_provider();
        let chromium = find_program(&["/usr/bin/chromium", "/usr/bin/chromium-browser"]);
        let driver = find_program(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but Chromium or chromedriver is missing: .ci/run installs them"
            );
            eprintln!(
                "skipped: no chromium and chromedriver (apt install chromium chromium-driver)"
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            let ready = http.get(format!("{base}/status")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                // No background traffic: the page under test is the only thing it fetches
                // (and CI machines may have no outside network at all).
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--no-first-run", "--disable-quic",
                         "--window-size=1280,1100", "--lang=nb-NO"],
            },
        }}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_string();
        Some(Browser {
            driver,
            http,
            session: format!("{base}/session/{session}"),
        })
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        answer["value"].clone()
    }

    async fn open(&self, url: &str) {
        self.call(Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    async fn script(&self, script: &str) -> Value {
        self.call(
            Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Waits until `script` returns something truthy (at most ten seconds) and returns it.
    async fn wait_for(&self, script: &str) -> Value {
        for _ in 0..100 {
            let value = self.script(script).await;
            if !(value.is_null() || value == json!(false) || value == json!("")) {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page never satisfied: {script}");
    }

    async fn element(&self, css: &str) -> String {
        let found = self
            .call(
                Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_string()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css).await;
        self.call(
            Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let element = self.element(css).await;
        self.call(
            Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn text(&self, css: &str) -> String {
        let element = self.element(css).await;
        self.call(Method::GET, &format!("/element/{element}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Saves a screenshot as a test artifact.
    async fn screenshot(&self, name: &str) {
        let encoded = self.call(Method::GET, "/screenshot", None).await;
        let png = decode_base64(encoded.as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// Every form control without a label, and every chart without a text alternative.
    async fn accessibility_gaps(&self) -> Value {
        self.script(
            "const gaps = [];
             for (const el of document.querySelectorAll('input, select, textarea')) {
               if (!el.labels || el.labels.length === 0) gaps.push('unlabelled ' + (el.id || el.name));
             }
             for (const svg of document.querySelectorAll('svg')) {
               if (!svg.getAttribute('aria-label')) gaps.push('svg without aria-label');
             }
             for (const b of document.querySelectorAll('button')) {
               if (!b.textContent.trim()) gaps.push('button without text');
             }
             if (!document.documentElement.lang) gaps.push('no document language');
             return gaps;",
        )
        .await
    }

    async fn quit(mut self) {
        self.http.delete(&self.session).send().await.ok();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut buffer, mut bits) = (0u32, 0);
    for c in text.bytes().filter_map(value) {
        buffer = (buffer << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// A service of a new agency whose web channel is checked at `target`, made critical by
/// three failed probes.
async fn failing_service(app: &TestApp, target: &Target) {
    let token = app.create_agency("nettetaten").await;
    let entry = json!({
        "id": "nedetid-tjeneste",
        "name": { "nb": "Tjeneste som er nede" },
        "summary": { "nb": "Svarer ikke for tiden." },
        "topics": ["mobbing"],
        "coverage": { "scope": "national" },
        "channels": [{ "kind": "web", "address": "https://example.no",
                       "health_check": { "url": target.url("/health"), "interval_s": 3600 } }],
        "urgency": "ordinary"
    });
    assert_eq!(
        app.post_service(&token, &entry).await.status(),
        StatusCode::CREATED
    );
    target.set_status(500);
    for _ in 0..3 {
        let response = app
            .request(
                Method::POST,
                "/v1/services/nedetid-tjeneste/health/check",
                Some(&token),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn the_dashboard_lists_a_failing_service_first() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app().await;
    let target = Target::spawn(Behaviour::Status).await;
    failing_service(&app, &target).await;

    browser.open(&app.url("/")).await;
    browser
        .wait_for("return document.body.dataset.loaded === 'true'")
        .await;
    let row = browser
        .wait_for("const r = document.querySelector('#failing-table tbody tr'); return r && r.dataset.service;")
        .await;
    assert_eq!(row, "nedetid-tjeneste");
    let text = browser.text("#failing-table tbody tr").await;
    assert!(text.contains("Kritisk"), "{text}");
    assert!(text.contains("500"), "the last error: {text}");
    let critical = browser.text("#counts li[data-state=critical] .n").await;
    assert_eq!(critical, "1");
    assert_eq!(browser.accessibility_gaps().await, json!([]));
    browser.screenshot("dashboard").await;

    // The English switch, by keyboard-reachable button.
    browser.click("#lang-switch").await;
    assert_eq!(browser.text("h1").await, "Catalogue health");
    assert!(
        browser
            .text("#failing-table tbody tr")
            .await
            .contains("Critical")
    );
    browser.script("localStorage.clear(); return true;").await;
    browser.quit().await;
}

#[tokio::test]
async fn a_question_typed_in_try_shows_the_services_and_highlights_crisis_ones() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app().await;
    browser.open(&app.url("/try")).await;
    browser.type_into("#q", "jeg vil ikke leve lenger").await;
    browser.type_into("#age", "15").await;
    browser.type_into("#municipality", "4601").await;
    browser.click("#submit").await;
    browser
        .wait_for("return document.body.dataset.answered === 'true'")
        .await;

    assert!(browser.text("#crisis").await.contains("113"));
    let results = browser
        .script("return [...document.querySelectorAll('#results > li')].map(li => [li.dataset.service, li.dataset.urgency, li.classList.contains('crisis')]);")
        .await;
    let results = results.as_array().unwrap();
    assert!(!results.is_empty());
    // The first is a crisis or emergency service, highlighted as such.
    assert!(
        ["crisis", "emergency"].contains(&results[0][1].as_str().unwrap()),
        "{results:?}"
    );
    assert_eq!(results[0][2], true);
    for result in results {
        let urgent = result[1] != "ordinary";
        assert_eq!(result[2], urgent, "{result:?}");
    }
    // The same answer the API gives for the same question.
    let api: Value = app
        .send_json(Method::POST, "/v1/route", None, &json!({ "q": "jeg vil ikke leve lenger", "age": 15, "municipality": "4601", "lang": "nb" }))
        .await
        .json()
        .await
        .unwrap();
    let api_ids: Vec<&str> = api["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["service_id"].as_str().unwrap())
        .collect();
    let page_ids: Vec<&str> = results.iter().map(|r| r[0].as_str().unwrap()).collect();
    assert_eq!(page_ids, api_ids);
    // Each card names who provides the service, not the agency that keeps its entry:
    // 113 is answered by the AMK centres, whose entry Bufdir keeps.
    let providers = browser
        .script("return Object.fromEntries([...document.querySelectorAll('#results > li')].map(li => [li.dataset.service, li.querySelector('p.muted').textContent]));")
        .await;
    assert!(
        providers["nodnummer-113"]
            .as_str()
            .is_some_and(|p| p.starts_with("AMK")),
        "{providers}"
    );
    // The question never went into the address.
    let address = browser.script("return location.href;").await;
    assert!(!address.as_str().unwrap().contains("leve"), "{address}");
    assert_eq!(browser.accessibility_gaps().await, json!([]));
    browser.screenshot("try-crisis").await;
    browser.quit().await;
}

#[tokio::test]
async fn a_service_page_shows_the_entry_as_a_person_reads_it() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = spawn_app().await;
    let entry = app.get_json("/v1/services/kirkens-sos").await;
    browser.open(&app.url("/services/kirkens-sos")).await;
    browser
        .wait_for("return document.body.dataset.loaded === 'true'")
        .await;
    assert_eq!(
        browser.text("h1").await,
        entry["name"]["nb"].as_str().unwrap()
    );
    let channels = browser
        .script("return [...document.querySelectorAll('#channels > li')].map(li => [li.dataset.kind, li.querySelector('.open').textContent]);")
        .await;
    let channels = channels.as_array().unwrap();
    assert_eq!(channels.len(), entry["channels"].as_array().unwrap().len());
    for channel in channels {
        let open = channel[1].as_str().unwrap();
        assert!(
            open.starts_with("Åpen nå")
                || open.starts_with("Stengt")
                || open.starts_with("Åpningstider"),
            "{open}"
        );
    }
    assert_eq!(browser.accessibility_gaps().await, json!([]));
    browser.screenshot("service").await;
    browser.quit().await;
}
