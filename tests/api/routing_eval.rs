//! The routing evaluation: questions written from situations young people are in (Bokmål,
//! Nynorsk, English, slang, typos, dialect, third person; danger, harmless questions with
//! alarming words, ordinary situations), each with the services that fit. Asked over HTTP,
//! on a Tuesday afternoon in Oslo; figures per slice and every miss are printed
//! (`cargo test routing_eval -- --nocapture`).
//!
//! Two sets: `routing-eval.jsonl`, written by the team, and `routing-eval-independent.jsonl`,
//! written by someone who never saw the lexicon (keep it so: do not tune the lexicon to its
//! misses one by one). The floors below are what the router measured when they were set,
//! so a change that makes understanding worse fails; they are not the goal, which is 95%
//! top-3, every danger question with `crisis: true` and an emergency or crisis service
//! first, and no crisis on a harmless question.

use veiviser::evaluation::{Report, judge, parse_cases};
use veiviser::routing::RouteResponse;

use crate::helpers::spawn_app;

// Measured on 2026-12-03 (`veiviser lexicon eval FILE`): the team's 138 questions 97.8%
// top-3, 54 of 54 danger questions right, 1 of 16 harmless ones raised a crisis; the 590
// independent ones (250 written by two helpers, then 130, 60 and 150 by three more, each
// before seeing the router) 91.0%, 235 of 238, 1 of 132; on 2026-12-04 91.5%, 236 of 238, none.
const TEAM_TOP3: f64 = 0.977;
const TEAM_DANGER: f64 = 1.0;
const TEAM_ALARMS: usize = 1;
const INDEPENDENT_TOP3: f64 = 0.912;
const INDEPENDENT_DANGER: f64 = 0.991;
const INDEPENDENT_ALARMS: usize = 0;
// `routing-eval-dev.jsonl`: 280 questions (165 danger, 70 harmless) written on 2026-12-04 by
// two helpers who saw only the service list (160, then 120); the lexicon was then widened on
// their misses (danger first 76.7% and 65.3% before, 97.8% and 93.3% after), so the file
// guards what was learnt from it and no longer measures understanding. Measured with
// `veiviser lexicon eval`: 88.9% top-3, 158 of 165 danger questions, 1 harmless alarm.
const DEV_TOP3: f64 = 0.888;
const DEV_DANGER: f64 = 0.957;
const DEV_ALARMS: usize = 1;

#[tokio::test]
async fn the_router_keeps_what_it_learnt_from_the_development_set() {
    let floors = Floors {
        top3: DEV_TOP3,
        danger_first: DEV_DANGER,
        harmless_alarms: DEV_ALARMS,
    };
    evaluate(include_str!("../data/routing-eval-dev.jsonl"), &floors).await;
}

/// One evaluation set and the floors it must hold.
struct Floors {
    top3: f64,
    danger_first: f64,
    harmless_alarms: usize,
}

#[tokio::test]
async fn the_router_answers_the_teams_questions() {
    let floors = Floors {
        top3: TEAM_TOP3,
        danger_first: TEAM_DANGER,
        harmless_alarms: TEAM_ALARMS,
    };
    evaluate(include_str!("../data/routing-eval.jsonl"), &floors).await;
}

#[tokio::test]
async fn the_router_answers_questions_written_without_seeing_it() {
    let floors = Floors {
        top3: INDEPENDENT_TOP3,
        danger_first: INDEPENDENT_DANGER,
        harmless_alarms: INDEPENDENT_ALARMS,
    };
    evaluate(
        include_str!("../data/routing-eval-independent.jsonl"),
        &floors,
    )
    .await;
}

async fn evaluate(jsonl: &str, floors: &Floors) {
    let cases = parse_cases(jsonl).expect("the evaluation parses");
    let app = spawn_app().await;
    let mut report = Report::default();
    for case in &cases {
        let bytes = app
            .client
            .post(app.url("/v1/route"))
            .json(&case.request())
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        // The answer is written by hand for speed: it must be what serde writes.
        let typed: RouteResponse = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            serde_json::to_vec(&typed).unwrap(),
            bytes.to_vec(),
            "{:?}",
            case.q
        );
        report.add(case, &judge(case, &typed));
    }
    println!("{}", report.render());
    assert!(report.danger_cases() >= 30 && report.harmless_cases() >= 15);
    assert!(
        report.top3_rate() >= floors.top3,
        "top-3 {:.3}: {:#?}",
        report.top3_rate(),
        report.misses()
    );
    assert!(
        report.danger_rate() >= floors.danger_first,
        "danger first {:.3}: {:#?}",
        report.danger_rate(),
        report.misses()
    );
    assert!(
        report.harmless_alarms() <= floors.harmless_alarms,
        "{} crises on harmless questions: {:#?}",
        report.harmless_alarms(),
        report.misses()
    );
}
