//! The routing evaluation: questions as young people type them (Bokmål, Nynorsk, English,
//! slang, typos; with and without age and municipality), each with the services that must
//! be in the top 3. At least 90% must pass, and every crisis question must put an emergency
//! or crisis service first. Asked over HTTP, on a Tuesday afternoon in Oslo.

use serde_json::{Value, json};
use veiviser::routing::RouteResponse;

use crate::helpers::spawn_app;

struct Case {
    q: &'static str,
    age: Option<u8>,
    municipality: Option<&'static str>,
    expect: &'static [&'static str],
    crisis: bool,
}

const fn case(q: &'static str, expect: &'static [&'static str]) -> Case {
    Case {
        q,
        age: None,
        municipality: None,
        expect,
        crisis: false,
    }
}

const fn crisis(q: &'static str, expect: &'static [&'static str]) -> Case {
    Case {
        q,
        age: None,
        municipality: None,
        expect,
        crisis: true,
    }
}

const fn aged(mut c: Case, age: u8, municipality: Option<&'static str>) -> Case {
    c.age = Some(age);
    c.municipality = municipality;
    c
}

const CASES: &[Case] = &[
    // Bokmål
    aged(
        case("jeg blir mobbet på skolen", &["mobbeombud"]),
        14,
        Some("4601"),
    ),
    case("alle på skolen erter meg hver dag", &["mobbeombud"]),
    case(
        "jeg føler meg så ensom, har ingen venner",
        &["kors-pa-halsen"],
    ),
    case(
        "tror jeg er gravid hva gjør jeg",
        &["helsestasjon-for-ungdom"],
    ),
    case("kondomet sprakk i går", &["helsestasjon-for-ungdom"]),
    case(
        "hvor kan jeg teste meg for klamydia",
        &["helsestasjon-for-ungdom"],
    ),
    case("hvordan søker jeg på videregående", &["vilbli"]),
    case(
        "trenger sommerjobb men vet ikke hvordan jeg skriver CV",
        &["nav-ungdom"],
    ),
    case(
        "mamma drikker hver helg og jeg er lei",
        &["alarmtelefonen-116111"],
    ),
    crisis(
        "noen har delt nakenbilder av meg",
        &["nodnummer-112-politi", "alarmtelefonen-116111"],
    ),
    case(
        "noen har laget en falsk profil av meg på insta",
        &["slettmeg"],
    ),
    case(
        "jeg har gjeld på gambling og betting",
        &["hjelpelinjen-spilleavhengige"],
    ),
    case("hvordan slutter jeg å snuse", &["rusinfo"]),
    case("vennen min røyker hasj hver dag", &["rusinfo"]),
    case(
        "jeg har angst og får panikkanfall",
        &["mental-helse-hjelpetelefonen-116123"],
    ),
    case(
        "jeg tror jeg er lesbisk, hvordan komme ut",
        &["skeiv-ungdom-ungdomstelefonen"],
    ),
    case(
        "jeg spiser nesten ingenting og teller kalorier",
        &["ros-chat"],
    ),
    case(
        "hva er mine rettigheter når barnevernet kommer",
        &["barneombudet"],
    ),
    case(
        "jeg vil klage på et vedtak",
        &["sivilombudet-klagehjelp-barn"],
    ),
    crisis(
        "får ikke være med venner fordi familien bestemmer alt",
        &["alarmtelefonen-116111"],
    ),
    case(
        "har lyst å flytte hjemmefra, trenger hjelp med husleie",
        &["nav-ungdom"],
    ),
    aged(
        case(
            "jeg er 19 og trenger gratis rettshjelp med husleia",
            &["jussbuss"],
        ),
        19,
        Some("0301"),
    ),
    case("pappa døde i fjor og jeg savner han", &["kirkens-sos"]),
    // Kors på halsen is for those under 18; at 19 the adult lines answer.
    aged(case("føler meg så ensom", &["kirkens-sos"]), 19, None),
    // The local youth clinic first where there is one.
    aged(
        case("trenger p-piller", &["hfu-nittedal"]),
        16,
        Some("3232"),
    ),
    // Nynorsk
    case("eg blir mobba på skulen", &["mobbeombud"]),
    case("eg er så einsam og har ingen vener", &["kors-pa-halsen"]),
    case("korleis søkjer eg vidaregåande", &["vilbli"]),
    case("mamma drikk kvar helg", &["alarmtelefonen-116111"]),
    case("er eg gravid", &["helsestasjon-for-ungdom"]),
    // English
    case("I am being bullied at school", &["mobbeombud"]),
    case("I think I might be pregnant", &["helsestasjon-for-ungdom"]),
    crisis(
        "someone is threatening to share my nudes",
        &["nodnummer-112-politi"],
    ),
    case("I feel so lonely and have no friends", &["kors-pa-halsen"]),
    case("how do I quit vaping", &["rusinfo"]),
    // Slang and typos
    case("blir mobba hele tida", &["mobbeombud"]),
    case("jeg blir mobet på skolen", &["mobbeombud"]),
    case("foler meg sa ensom", &["kors-pa-halsen"]),
    case("klamidia test", &["helsestasjon-for-ungdom"]),
    // Crisis: emergency or crisis service first.
    crisis(
        "jeg vil ta livet mitt",
        &["nodnummer-113", "mental-helse-hjelpetelefonen-116123"],
    ),
    crisis("orker ikke mer, vil bare dø", &["nodnummer-113"]),
    crisis("eg vil ikkje leve lenger", &["nodnummer-113"]),
    crisis("I want to kill myself", &["nodnummer-113"]),
    crisis("kms", &["nodnummer-113"]),
    crisis("selvmorstanker", &["mental-helse-hjelpetelefonen-116123"]),
    crisis(
        "jeg kutter meg selv",
        &["mental-helse-hjelpetelefonen-116123"],
    ),
    crisis("pappa slår meg når han er full", &["alarmtelefonen-116111"]),
    crisis("kjæresten min slår meg", &["krisesentre"]),
    crisis("jeg ble voldtatt på fest", &["nodnummer-112-politi"]),
    crisis(
        "de vil gifte meg bort i sommer",
        &["nodnummer-112-politi", "alarmtelefonen-116111"],
    ),
    crisis(
        "vennen min har tatt en overdose og puster ikke",
        &["nodnummer-113"],
    ),
    crisis("det brenner i huset", &["nodnummer-110-brann"]),
    aged(
        crisis(
            "noen følger etter meg og jeg er redd for livet",
            &["nodnummer-112-politi"],
        ),
        16,
        Some("0301"),
    ),
];

#[tokio::test]
async fn the_router_answers_young_peoples_questions() {
    let app = spawn_app().await;
    let mut passed = 0;
    let mut failures = Vec::new();
    let mut crisis_failures = Vec::new();
    for case in CASES {
        let mut body = json!({ "q": case.q, "at": "2026-11-24T13:00:00Z", "limit": 5 });
        if let Some(age) = case.age {
            body["age"] = json!(age);
        }
        if let Some(m) = case.municipality {
            body["municipality"] = json!(m);
        }
        let bytes = app
            .client
            .post(app.url("/v1/route"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        // The answer is written by hand for speed: it must be what serde writes.
        let typed: RouteResponse = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            String::from_utf8(serde_json::to_vec(&typed).unwrap()).unwrap(),
            String::from_utf8(bytes.to_vec()).unwrap(),
            "{:?}",
            case.q
        );
        let answer: Value = serde_json::from_slice(&bytes).unwrap();
        let top3: Vec<&str> = answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .take(3)
            .map(|r| r["service_id"].as_str().unwrap())
            .collect();
        if case.expect.iter().all(|id| top3.contains(id)) {
            passed += 1;
        } else {
            failures.push(format!(
                "{:?}: expected {:?} in {top3:?}",
                case.q, case.expect
            ));
        }
        if case.crisis {
            let first = &answer["results"][0];
            let urgent = ["emergency", "crisis"].contains(&first["urgency"].as_str().unwrap_or(""));
            if answer["crisis"] != true || !urgent {
                crisis_failures.push(format!(
                    "{:?}: crisis {} first {}",
                    case.q, answer["crisis"], first["service_id"]
                ));
            }
        }
    }
    let rate = passed as f64 / CASES.len() as f64;
    println!(
        "routing evaluation: {passed}/{} in the top 3 ({:.1}%)",
        CASES.len(),
        rate * 100.0
    );
    for failure in &failures {
        println!("  miss: {failure}");
    }
    assert!(CASES.len() >= 40);
    assert!(rate >= 0.9, "hit rate {rate:.3}: {failures:#?}");
    assert!(crisis_failures.is_empty(), "{crisis_failures:#?}");
}
