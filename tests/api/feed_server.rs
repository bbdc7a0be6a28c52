//! A real HTTP server on 127.0.0.1 publishing an agency feed that a test changes at will:
//! a document (optionally with an ETag honoured on If-None-Match, or a Last-Modified date
//! honoured on If-Modified-Since), a status, or a body too large to accept.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use warp::Filter;
use warp::http::{Response, StatusCode};

/// What the feed answers.
#[derive(Debug, Clone)]
pub enum Feed {
    Document {
        doc: Value,
        etag: Option<String>,
    },
    /// A document with a `Last-Modified` date and no ETag.
    Dated {
        doc: Value,
        last_modified: String,
    },
    Status(u16),
    Bytes(usize),
}

pub struct FeedServer {
    pub port: u16,
    feed: Arc<Mutex<Feed>>,
    /// The If-None-Match header of each request, in order.
    seen: Arc<Mutex<Vec<Option<String>>>>,
    /// The User-Agent of each request, in order.
    agents: Arc<Mutex<Vec<String>>>,
    /// The If-Modified-Since header of each request, in order.
    modified_since: Arc<Mutex<Vec<Option<String>>>>,
}

impl FeedServer {
    pub async fn spawn(feed: Feed) -> FeedServer {
        let feed = Arc::new(Mutex::new(feed));
        let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
        let agents: Arc<Mutex<Vec<String>>> = Arc::default();
        let modified_since: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
        let (state, log, agent_log) = (feed.clone(), seen.clone(), agents.clone());
        let since_log = modified_since.clone();
        let route = warp::path!("feed.json")
            .and(warp::header::optional::<String>("if-none-match"))
            .and(warp::header::optional::<String>("user-agent"))
            .and(warp::header::optional::<String>("if-modified-since"))
            .map(
                move |inm: Option<String>, agent: Option<String>, ims: Option<String>| {
                    log.lock().unwrap().push(inm.clone());
                    agent_log.lock().unwrap().push(agent.unwrap_or_default());
                    since_log.lock().unwrap().push(ims.clone());
                    let answer = state.lock().unwrap().clone();
                    let builder = Response::builder().header("content-type", "application/json");
                    match answer {
                        Feed::Document { doc, etag } => {
                            if let (Some(tag), Some(inm)) = (&etag, &inm) {
                                if tag == inm {
                                    return builder
                                        .status(StatusCode::NOT_MODIFIED)
                                        .header("etag", tag)
                                        .body(Vec::new())
                                        .unwrap();
                                }
                            }
                            let builder = match &etag {
                                Some(tag) => builder.header("etag", tag),
                                None => builder,
                            };
                            builder.body(serde_json::to_vec(&doc).unwrap()).unwrap()
                        }
                        Feed::Dated { doc, last_modified } => {
                            let builder = builder.header("last-modified", &last_modified);
                            if ims.as_deref() == Some(last_modified.as_str()) {
                                return builder
                                    .status(StatusCode::NOT_MODIFIED)
                                    .body(Vec::new())
                                    .unwrap();
                            }
                            builder.body(serde_json::to_vec(&doc).unwrap()).unwrap()
                        }
                        Feed::Status(code) => builder
                            .status(code)
                            .body(b"{\"error\": \"down\"}".to_vec())
                            .unwrap(),
                        Feed::Bytes(n) => {
                            // Valid JSON, just too much of it.
                            let mut body = b"{\"agency\": \"x\", \"padding\": \"".to_vec();
                            body.resize(n, b'a');
                            body.extend_from_slice(b"\"}");
                            builder.body(body).unwrap()
                        }
                    }
                },
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(warp::serve(route).incoming(listener).run());
        FeedServer {
            port,
            feed,
            seen,
            agents,
            modified_since,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/feed.json", self.port)
    }

    pub fn set(&self, feed: Feed) {
        *self.feed.lock().unwrap() = feed;
    }

    pub fn user_agents(&self) -> Vec<String> {
        self.agents.lock().unwrap().clone()
    }

    pub fn requests(&self) -> Vec<Option<String>> {
        self.seen.lock().unwrap().clone()
    }

    /// The If-Modified-Since header of each request, in order.
    pub fn modified_since(&self) -> Vec<Option<String>> {
        self.modified_since.lock().unwrap().clone()
    }
}

/// A feed document of `agency` with these entries.
pub fn document(agency: &str, services: Vec<Value>) -> Feed {
    Feed::Document {
        doc: json!({ "agency": agency, "services": services }),
        etag: None,
    }
}
