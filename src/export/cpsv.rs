//! CPSV-AP-NO: public service descriptions as JSON-LD, for data.norge.no to harvest. Every
//! service, channel, contact point and the catalogue has an IRI under this Veiviser's base
//! URL (data.norge.no ignores blank nodes); competent authorities are the national
//! organisation catalogue's IRIs built from organisation numbers.

use serde_json::{Value, json};

use super::ExportInput;
use crate::model::entry::ChannelKind;
use crate::model::hours::OpeningHours;
use crate::model::{Channel, ServiceEntry, Status, Urgency};

const NORWAY: &str = "http://publications.europa.eu/resource/authority/country/NOR";
const LOS: &str = "https://psi.norge.no/los/";
const CHANNEL_TYPE: &str = "https://data.norge.no/vocabulary/service-channel-type#";
const STATUS: &str = "http://publications.europa.eu/resource/authority/distribution-status/";
const ORGANIZATION_CATALOG: &str =
    "https://organization-catalog.fellesdatakatalog.digdir.no/organizations/";
/// The languages Veiviser's texts are in, with their EU language authority codes.
const LANGUAGES: [(&str, &str); 3] = [("nb", "NOB"), ("nn", "NNO"), ("en", "ENG")];

/// The JSON-LD context: the profile's prefixes.
pub fn context() -> Value {
    json!({
        "cpsv": "http://purl.org/vocab/cpsv#",
        "cpsvno": "https://data.norge.no/vocabulary/cpsvno#",
        "cv": "http://data.europa.eu/m8g/",
        "dct": "http://purl.org/dc/terms/",
        "dcat": "http://www.w3.org/ns/dcat#",
        "dcatno": "https://data.norge.no/vocabulary/dcatno#",
        "adms": "http://www.w3.org/ns/adms#",
        "foaf": "http://xmlns.com/foaf/0.1/",
        "skos": "http://www.w3.org/2004/02/skos/core#",
        "vcard": "http://www.w3.org/2006/vcard/ns#",
        "time": "http://www.w3.org/2006/time#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
    })
}

/// The catalogue as one JSON-LD graph.
pub fn export(input: &ExportInput<'_>) -> Value {
    let base = input.base_url;
    let catalogue_iri = format!("{base}/v1/export/cpsv-ap-no");
    let mut graph = Vec::new();
    let mut authorities = std::collections::BTreeMap::new();
    let mut service_iris = Vec::new();
    for entry in input.entries {
        let Some(org_number) = org_number(input, entry) else {
            continue;
        };
        let authority = format!("{ORGANIZATION_CATALOG}{org_number}");
        let name = entry
            .provider
            .as_ref()
            .map(|p| p.name.clone())
            .or_else(|| input.agency(&entry.agency).map(|a| a.name.clone()))
            .unwrap_or_default();
        authorities.entry(authority.clone()).or_insert_with(|| {
            json!({
                "@id": authority,
                "@type": "cv:PublicOrganisation",
                "dct:identifier": org_number,
                "skos:prefLabel": [{ "@language": "nb", "@value": name }],
                "dct:spatial": [{ "@id": NORWAY }],
            })
        });
        let iri = format!("{base}/v1/services/{}", entry.id);
        service_iris.push(json!({ "@id": iri }));
        graph.push(service(input, entry, &iri, &authority));
    }
    graph.extend(authorities.into_values());
    graph.push(json!({
        "@id": catalogue_iri,
        "@type": "dcat:Catalog",
        "dct:title": [
            { "@language": "nb", "@value": "Veiviser: tjenester for unge" },
            { "@language": "en", "@value": "Veiviser: services for young people" },
        ],
        "dct:modified": { "@value": input.now.date_naive().to_string(), "@type": "xsd:date" },
        "dcatno:containsService": service_iris,
    }));
    json!({ "@context": context(), "@graph": graph })
}

fn org_number(input: &ExportInput<'_>, entry: &ServiceEntry) -> Option<String> {
    let number = entry
        .provider
        .as_ref()
        .and_then(|p| p.org_number.clone())
        .or_else(|| input.agency(&entry.agency).map(|a| a.org_number.clone()))?;
    Some(number.chars().filter(char::is_ascii_digit).collect())
}

/// One literal per language the text has.
fn literals(texts: &std::collections::BTreeMap<String, String>) -> Vec<Value> {
    texts
        .iter()
        .map(|(lang, text)| json!({ "@language": lang, "@value": text }))
        .collect()
}

fn service(input: &ExportInput<'_>, entry: &ServiceEntry, iri: &str, authority: &str) -> Value {
    let description = match &entry.description {
        Some(description) => literals(&description.0),
        None => literals(&entry.summary.0),
    };
    let status = match entry.status {
        Status::Active | Status::Paused => "COMPLETED",
        Status::Retired => "WITHDRAWN",
    };
    let mut service = json!({
        "@id": iri,
        "@type": "cpsv:PublicService",
        "dct:identifier": entry.id,
        "dct:title": literals(&entry.name.0),
        "dct:description": description,
        "cv:hasCompetentAuthority": { "@id": authority },
        "cv:contactPoint": [contact_point(entry, iri)],
        "cpsvno:hasPossibleOutput": {
            "@id": format!("{iri}#output"),
            "@type": "cv:Output",
            "dct:title": [
                { "@language": "nb", "@value": "Samtale med eller svar fra fagperson" },
                { "@language": "en", "@value": "A conversation with or an answer from a professional" },
            ],
            "dct:description": [
                { "@language": "nb", "@value": "Råd, hjelp eller henvisning videre." },
                { "@language": "en", "@value": "Advice, help or referral onwards." },
            ],
        },
        // Kartverket's unit URIs use their own ids, not municipality numbers; without that
        // table the country is given, and the areas are in Veiviser's own entry.
        "dct:spatial": [{ "@id": NORWAY }],
        "adms:status": { "@id": format!("{STATUS}{status}") },
        "cv:hasChannel": entry.channels.iter().enumerate().map(|(i, c)| channel(c, iri, i)).collect::<Vec<_>>(),
        "dct:language": LANGUAGES.iter().filter(|(code, _)| entry.name.0.contains_key(*code)).map(|(_, eu)| json!({ "@id": format!("http://publications.europa.eu/resource/authority/language/{eu}") })).collect::<Vec<_>>(),
        "foaf:homepage": { "@id": format!("{}/v1/services/{}", input.base_url, entry.id) },
    });
    let themes = thematic_areas(entry);
    if !themes.is_empty() {
        service["cv:thematicArea"] = json!(themes);
    }
    let keywords: Vec<Value> = entry
        .keywords
        .iter()
        .map(|k| json!({ "@language": "nb", "@value": k }))
        .collect();
    if !keywords.is_empty() {
        service["dcat:keyword"] = json!(keywords);
    }
    if let Some(age) = age_range(entry) {
        service["cv:holdsRequirement"] = json!({
            "@id": format!("{iri}#age"),
            "@type": "cv:Criterion",
            "dct:title": [{ "@language": "nb", "@value": age }],
        });
    }
    service
}

fn age_range(entry: &ServiceEntry) -> Option<String> {
    match (entry.audience.min_age, entry.audience.max_age) {
        (Some(min), Some(max)) => Some(format!("{min}–{max} år")),
        (Some(min), None) => Some(format!("fra {min} år")),
        (None, Some(max)) => Some(format!("til og med {max} år")),
        (None, None) => None,
    }
}

/// LOS themes and words for the entry's topics; crisis and emergency services are also
/// "akutt hjelp".
fn thematic_areas(entry: &ServiceEntry) -> Vec<Value> {
    let mut uris: Vec<&str> = entry.topics.iter().filter_map(|t| los_for(t)).collect();
    if matches!(entry.urgency, Urgency::Crisis | Urgency::Emergency) {
        uris.push("tema/akutt-hjelp");
    }
    uris.sort_unstable();
    uris.dedup();
    uris.into_iter()
        .map(|path| json!({ "@id": format!("{LOS}{path}") }))
        .collect()
}

/// The LOS concept for a topic where the correspondence is clear; others get none.
fn los_for(topic: &str) -> Option<&'static str> {
    Some(match topic {
        "psykisk-helse" | "selvmordstanker" | "selvskading" | "spiseforstyrrelser" => {
            "ord/psykisk-helse"
        }
        "barnevern" => "ord/barnevern",
        "vold-hjemme" | "vold-og-kontroll-i-kjaerestehold" => "ord/krisesenter",
        "kropp-helse-identitet"
        | "sex-og-samliv"
        | "prevensjon"
        | "graviditet-og-abort"
        | "kjonnssykdommer-og-testing"
        | "kropp-og-pubertet"
        | "fysisk-helse" => "tema/helse-og-omsorg",
        "akutt-hjelp" | "fare-for-liv-og-helse" | "akutt-fare-na" | "akutt-rusforgiftning" => {
            "tema/akutt-hjelp"
        }
        _ => return None,
    })
}

fn contact_point(entry: &ServiceEntry, iri: &str) -> Value {
    let mut contact = json!({ "@id": format!("{iri}#contact"), "@type": "cv:ContactPoint" });
    let first = |kinds: &[ChannelKind]| {
        entry
            .channels
            .iter()
            .find(|c| kinds.contains(&c.kind) && c.address.is_some())
            .and_then(|c| c.address.clone())
    };
    if let Some(phone) = first(&[ChannelKind::Phone]) {
        contact["cv:telephone"] = json!(phone);
    }
    if let Some(email) = first(&[ChannelKind::Email]) {
        contact["cv:email"] = json!(email);
    }
    if let Some(page) = first(&[ChannelKind::Web, ChannelKind::Chat, ChannelKind::Form]) {
        contact["cv:contactPage"] = json!({ "@id": page });
    }
    contact
}

fn channel(channel: &Channel, iri: &str, index: usize) -> Value {
    let kind = channel.kind;
    let channel_type = match kind {
        ChannelKind::Phone | ChannelKind::Sms | ChannelKind::TextPhone => "telephone",
        ChannelKind::Email => "e-mail",
        ChannelKind::InPerson => "service-bureau",
        ChannelKind::App => "mobile-app",
        ChannelKind::Web => "homepage",
        ChannelKind::Chat | ChannelKind::Form | ChannelKind::Video | ChannelKind::SocialMedia => {
            "online-service"
        }
    };
    let mut node = json!({
        "@id": format!("{iri}#channel-{index}"),
        "@type": "cv:Channel",
        "dct:identifier": format!("{}-{index}", kind.as_str()),
        "dct:type": { "@id": format!("{CHANNEL_TYPE}{channel_type}") },
        // The profile's channel types have no chat, SMS or video: say it in words.
        "dct:description": [{ "@language": "nb", "@value": describe(channel) }],
    });
    if let Some(address) = &channel.address {
        match kind {
            ChannelKind::Phone | ChannelKind::Sms | ChannelKind::TextPhone => {
                node["vcard:hasTelephone"] = json!({ "@id": format!("tel:{}", tel(address)) });
            }
            ChannelKind::Email => {
                node["vcard:hasEmail"] = json!({ "@id": format!("mailto:{address}") })
            }
            ChannelKind::InPerson => node["vcard:hasAddress"] = json!(address),
            _ => node["vcard:hasURL"] = json!({ "@id": address }),
        }
    }
    if let Some(hours) = &channel.hours {
        node["cv:openingHours"] = json!(opening_hours(hours, iri, index));
    }
    node
}

/// `tel:` wants international form for full numbers; short numbers stay as they are.
fn tel(number: &str) -> String {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if digits.len() == 8 {
        format!("+47{digits}")
    } else {
        digits
    }
}

fn describe(channel: &Channel) -> String {
    let kind = match channel.kind {
        ChannelKind::Chat => "Chat",
        ChannelKind::Phone => "Telefon",
        ChannelKind::Sms => "SMS",
        ChannelKind::TextPhone => "Teksttelefon",
        ChannelKind::Web => "Nettside",
        ChannelKind::Form => "Skjema eller spørretjeneste",
        ChannelKind::Email => "E-post",
        ChannelKind::InPerson => "Oppmøte",
        ChannelKind::Video => "Video",
        ChannelKind::App => "App",
        ChannelKind::SocialMedia => "Sosiale medier",
    };
    let mut text = kind.to_string();
    if channel.anonymous == Some(true) {
        text.push_str(", anonymt");
    }
    // A channel's note is for maintainers: it is never exported.
    text
}

fn opening_hours(hours: &OpeningHours, iri: &str, index: usize) -> Vec<Value> {
    const DAYS: [&str; 7] = [
        "time:Monday",
        "time:Tuesday",
        "time:Wednesday",
        "time:Thursday",
        "time:Friday",
        "time:Saturday",
        "time:Sunday",
    ];
    let at = |time: crate::model::hours::ClockTime, days: &[&str]| {
        let minutes = time.minutes();
        json!({
            "@type": "time:DateTimeDescription",
            "time:dayOfWeek": days.iter().map(|d| json!({ "@id": d })).collect::<Vec<_>>(),
            "time:hour": minutes / 60,
            "time:minute": minutes % 60,
            "time:timeZone": "Europe/Oslo",
        })
    };
    if hours.always_open {
        return vec![json!({
            "@id": format!("{iri}#channel-{index}-hours-0"),
            "@type": "time:TemporalEntity",
            "dct:description": [{ "@language": "nb", "@value": "Døgnåpent" }],
        })];
    }
    hours
        .weekly
        .iter()
        .enumerate()
        .map(|(r, rule)| {
            let days: Vec<&str> = rule.days.iter().map(|d| DAYS[d.index() as usize]).collect();
            json!({
                "@id": format!("{iri}#channel-{index}-hours-{r}"),
                "@type": "time:TemporalEntity",
                "time:hasBeginning": at(rule.opens, &days),
                "time:hasEnd": at(rule.closes, &days),
                "dct:description": [{
                    "@language": "nb",
                    "@value": format!("{} {}–{}", days.iter().map(|d| &d[5..8]).collect::<Vec<_>>().join(", "), rule.opens, rule.closes),
                }],
            })
        })
        .collect()
}
