//! A front-end client asking Veiviser's router where to send a young person, as ung.no does.
//! The question goes in the POST body, never in a URL.
//!
//! ```sh
//! cargo run --release -- serve &
//! VEIVISER_URL=http://127.0.0.1:8080 cargo run --example front_door -- "jeg blir mobbet på skolen" 14 4601
//! ```

use serde_json::{Value, json};

/// Asks the router; `age` and `municipality` are optional.
pub async fn ask(
    base: &str,
    question: &str,
    age: Option<u8>,
    municipality: Option<&str>,
) -> Result<Value, String> {
    // reqwest is built with rustls and no default crypto provider: install ring's.
    veiviser::outbound::install_crypto_provider();
    let mut body = json!({ "q": question, "lang": "nb", "limit": 5 });
    if let Some(age) = age {
        body["age"] = json!(age);
    }
    if let Some(m) = municipality {
        body["municipality"] = json!(m);
    }
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/route"))
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let answer: Value = response.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {answer}"));
    }
    Ok(answer)
}

/// The answer as a young person would see it: crisis help first, then each service with how
/// to reach it now.
pub fn render(answer: &Value) -> String {
    let mut out = String::new();
    if answer["crisis"] == true {
        out.push_str("Trenger du hjelp nå? Disse kan du kontakte med en gang:\n");
    }
    let results = answer["results"].as_array().cloned().unwrap_or_default();
    let shown = if results.is_empty() {
        vec![answer["fallback"].clone()]
    } else {
        results
    };
    for result in shown.iter().filter(|r| !r.is_null()) {
        out.push_str(&format!("- {}\n", result["name"].as_str().unwrap_or("")));
        for channel in result["channels"].as_array().into_iter().flatten() {
            let state = match channel["open_now"].as_bool() {
                Some(true) => "åpen nå",
                Some(false) => "stengt nå",
                None => "",
            };
            out.push_str(&format!(
                "    {} {} {}\n",
                channel["kind"].as_str().unwrap_or(""),
                channel["address"].as_str().unwrap_or(""),
                state
            ));
        }
    }
    out
}

#[allow(dead_code)] // Tests include this file for the functions above.
#[tokio::main]
async fn main() {
    let base = std::env::var("VEIVISER_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let args: Vec<String> = std::env::args().skip(1).collect();
    let question = args
        .first()
        .cloned()
        .unwrap_or_else(|| "jeg blir mobbet".into());
    let age = args.get(1).and_then(|a| a.parse().ok());
    let municipality = args.get(2).map(String::as_str);
    match ask(&base, &question, age, municipality).await {
        Ok(answer) => print!("{}", render(&answer)),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
