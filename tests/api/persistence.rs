use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN, ServerProcess, problem, sample_entry, spawn_app, spawn_app_in, walk};

#[tokio::test]
async fn everything_survives_a_restart() {
    let app = spawn_app().await;
    let token = app.create_agency("kommune-a").await;
    app.post_service(&token, &sample_entry("varig")).await;
    let retire = app
        .request(Method::DELETE, "/v1/services/kirkens-sos", Some(ADMIN))
        .send()
        .await
        .unwrap();
    assert_eq!(retire.status(), StatusCode::NO_CONTENT);
    let before = app.get_json("/v1/services/varig").await;
    let dir = app.stop().await;

    let app = spawn_app_in(dir).await;
    assert_eq!(app.get_json("/v1/services/varig").await, before);
    // The agency's token still works, and the seed is not loaded again over the retirement.
    let mut changed = sample_entry("varig");
    changed["summary"] = json!({ "nb": "Etter omstart." });
    assert_eq!(
        app.put_service(&token, "varig", Some("\"1\""), &changed)
            .await
            .status(),
        StatusCode::OK
    );
    problem(app.get("/v1/services/kirkens-sos").await, StatusCode::GONE).await;
    assert_eq!(
        app.get_json("/readyz").await["services"],
        crate::helpers::catalogue_services() + 1
    );
}

#[tokio::test]
async fn every_acknowledged_write_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(dir.path(), "info");
    veiviser::outbound::install_crypto_provider();
    let client = reqwest::Client::new();
    let base = format!("http://{}", server.addr);
    let created: Value = client
        .post(format!("{base}/v1/agencies"))
        .bearer_auth(ADMIN)
        .json(&json!({ "id": "kommune-a", "name": "Kommune A", "org_number": "986128433" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap().to_string();

    // 64 creates from 16 concurrent clients; note every one the server acknowledged.
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for n in 0..4 {
                let id = format!("krasj-{worker}-{n}");
                let response = client
                    .post(format!("{base}/v1/services"))
                    .bearer_auth(&token)
                    .json(&sample_entry(&id))
                    .send()
                    .await
                    .unwrap();
                if response.status() == StatusCode::CREATED {
                    acknowledged.push(id);
                }
            }
            acknowledged
        }));
    }
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.unwrap());
    }
    assert_eq!(acknowledged.len(), 64);
    // SIGKILL right after the last acknowledgement: no graceful shutdown, no final flush.
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let mut server = ServerProcess::start(dir.path(), "info");
    let base = format!("http://{}", server.addr);
    for id in &acknowledged {
        let response = client
            .get(format!("{base}/v1/services/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{id} was acknowledged but is gone"
        );
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

#[tokio::test]
async fn a_generated_operator_token_is_written_once_and_stored_only_as_a_hash() {
    let app = crate::helpers::spawn_app_with(|c| c.admin_token = None).await;
    let dir = app.stop().await;
    let path = dir.path().join("admin-token");
    let token = std::fs::read_to_string(&path).unwrap().trim().to_string();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // The database holds no copy of the token itself.
    for file in walk(&dir.path().join("db")) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "{} holds the token",
            file.display()
        );
    }
    // A restart keeps the token (and does not write a new one).
    let app = crate::helpers::spawn_app_in_with(dir, |c| c.admin_token = None).await;
    let dir_path = app.dir.as_ref().unwrap().path().to_path_buf();
    let audit = app
        .request(Method::GET, "/v1/audit", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(audit.status(), StatusCode::OK);
    assert_eq!(
        std::fs::read_to_string(dir_path.join("admin-token"))
            .unwrap()
            .trim(),
        token
    );
}
