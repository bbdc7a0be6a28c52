//! Open Referral HSDS 3: a page of fully nested services, as `GET /services` of an HSDS API
//! answers. HSDS text has no language tag, so one export is in one language. Its schedules
//! carry a numeric UTC offset, so each weekly rule is exported once per daylight-saving
//! period of the coming year, with `valid_from`/`valid_to` at the switches.

use chrono::{Days, NaiveDate, Offset, TimeZone};
use chrono_tz::Europe::Oslo;
use serde_json::{Map, Value, json};

use super::{ExportInput, stable_id};
use crate::model::entry::ChannelKind;
use crate::model::hours::{HolidayPolicy, OpeningHours};
use crate::model::{Channel, CoverageScope, ServiceEntry, Status};

/// The HSDS version the export follows.
pub const HSDS_VERSION: &str = "3.0";
const NORWAY_URI: &str = "http://publications.europa.eu/resource/authority/country/NOR";
const DAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

/// The catalogue as one HSDS page of services.
pub fn export(input: &ExportInput<'_>) -> Value {
    let periods = offset_periods(input.now.with_timezone(&Oslo).date_naive(), 365);
    let services: Vec<Value> = input
        .entries
        .iter()
        .map(|entry| service(input, entry, &periods))
        .collect();
    json!({
        "total_items": services.len(),
        "total_pages": 1,
        "page_number": 1,
        "size": services.len(),
        "first_page": true,
        "last_page": true,
        "empty": services.is_empty(),
        "contents": services,
    })
}

fn service(input: &ExportInput<'_>, entry: &ServiceEntry, periods: &[Period]) -> Value {
    let lang = input.lang;
    let id = stable_id("service", &entry.id);
    let mut service = Map::new();
    service.insert("id".into(), json!(id));
    service.insert("name".into(), json!(entry.name.get(lang)));
    let description = entry
        .description
        .as_ref()
        .map_or_else(|| entry.summary.get(lang), |d| d.get(lang));
    service.insert("description".into(), json!(description));
    service.insert(
        "url".into(),
        json!(format!("{}/v1/services/{}", input.base_url, entry.id)),
    );
    let status = match entry.status {
        Status::Active => "active",
        Status::Paused => "temporarily closed",
        Status::Retired => "inactive",
    };
    service.insert("status".into(), json!(status));
    if let Some(age) = entry.audience.min_age {
        service.insert("minimum_age".into(), json!(age));
    }
    if let Some(age) = entry.audience.max_age {
        service.insert("maximum_age".into(), json!(age));
    }
    // `audience.note` is for maintainers: it is never exported.
    if let Some(verified) = entry.last_verified_at {
        service.insert(
            "assured_date".into(),
            json!(verified.date_naive().to_string()),
        );
    }
    if let Some(organization) = organization(input, entry) {
        service.insert("organization_id".into(), organization["id"].clone());
        service.insert("organization".into(), organization);
    }
    service.insert("service_areas".into(), json!(service_areas(input, entry)));
    service.insert("languages".into(), json!(languages(entry)));
    service.insert("attributes".into(), json!(attributes(input, entry, &id)));
    let locations: Vec<Value> = entry
        .channels
        .iter()
        .enumerate()
        .map(|(i, channel)| channel_at_location(entry, i, channel, &id, periods))
        .collect();
    service.insert("service_at_locations".into(), json!(locations));
    if entry.channels.iter().all(|c| c.free != Some(false)) {
        service.insert(
            "cost_options".into(),
            json!([{
                "id": stable_id("cost", &entry.id),
                "option": "Gratis",
                "amount": 0,
                "currency": "NOK",
            }]),
        );
    }
    Value::Object(service)
}

fn organization(input: &ExportInput<'_>, entry: &ServiceEntry) -> Option<Value> {
    let agency = input.agency(&entry.agency)?;
    // The entry may name the organisation that delivers it when its steward differs.
    let (name, org_number) = match &entry.provider {
        Some(p) => (
            p.name.as_str(),
            p.org_number.as_deref().unwrap_or(&agency.org_number),
        ),
        None => (agency.name.as_str(), agency.org_number.as_str()),
    };
    let org_number: String = org_number.chars().filter(char::is_ascii_digit).collect();
    let mut organization = json!({
        "id": stable_id("organization", &org_number),
        "name": name,
        "description": format!("{name}, registrert i Veiviser av {}.", agency.name),
        "organization_identifiers": [{
            "id": stable_id("organization-identifier", &org_number),
            "identifier_scheme": "NO-BRC",
            "identifier_type": "Organisasjonsnummer",
            "identifier": org_number,
        }],
    });
    if let Some(website) = &agency.website {
        organization["website"] = json!(website);
    }
    Some(organization)
}

fn service_areas(input: &ExportInput<'_>, entry: &ServiceEntry) -> Vec<Value> {
    let places = &input.reference.places;
    if entry.coverage.scope == CoverageScope::National {
        return vec![json!({
            "id": stable_id("service-area", "NO"),
            "name": "Norge",
            "uri": NORWAY_URI,
        })];
    }
    let counties = entry.coverage.counties.iter().map(|code| {
        json!({
            "id": stable_id("service-area", &format!("county:{code}")),
            "name": places.county_name(code).unwrap_or(code),
            "description": format!("Fylkesnummer {code}"),
        })
    });
    let municipalities = entry.coverage.municipalities.iter().map(|code| {
        json!({
            "id": stable_id("service-area", &format!("municipality:{code}")),
            "name": places.municipality(code).map_or(code.as_str(), |m| m.name.as_str()),
            "description": format!("Kommunenummer {code}"),
        })
    });
    counties.chain(municipalities).collect()
}

fn language(code: &str) -> Value {
    let name = match code {
        "nb" => "Norsk bokmål",
        "nn" => "Norsk nynorsk",
        "no" => "Norsk",
        "en" => "English",
        "se" => "Davvisámegiella",
        "uk" => "Українська",
        "pl" => "Polski",
        "ar" => "العربية",
        "so" => "Soomaali",
        _ => code,
    };
    json!({ "id": stable_id("language", code), "name": name, "code": code })
}

fn languages(entry: &ServiceEntry) -> Vec<Value> {
    let mut codes: Vec<&str> = entry
        .channels
        .iter()
        .flat_map(|c| c.languages.iter().map(String::as_str))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes.into_iter().map(language).collect()
}

/// Topics, urgency and anonymity as attributes pointing at terms of Veiviser's taxonomies.
fn attributes(input: &ExportInput<'_>, entry: &ServiceEntry, service_id: &str) -> Vec<Value> {
    let taxonomy = &input.reference.taxonomy;
    let attribute =
        |taxonomy_name: &str, code: &str, name: &str, description: &str, parent: Option<&str>| {
            let term_id = stable_id("term", &format!("{taxonomy_name}:{code}"));
            let mut term = json!({
                "id": term_id,
                "code": code,
                "name": name,
                "description": description,
                "taxonomy": taxonomy_name,
                "term_uri": format!("{}/v1/topics#{code}", input.base_url),
            });
            if let Some(parent) = parent {
                term["parent_id"] = json!(stable_id("term", &format!("{taxonomy_name}:{parent}")));
            }
            json!({
                "id": stable_id("attribute", &format!("{}:{taxonomy_name}:{code}", entry.id)),
                "link_id": service_id,
                "link_type": taxonomy_name,
                "link_entity": "service",
                "taxonomy_term_id": term_id,
                "taxonomy_term": term,
            })
        };
    let mut out: Vec<Value> = entry
        .topics
        .iter()
        .map(|id| {
            let topic = taxonomy.get(id);
            let label = topic
                .and_then(|t| t.label.get(input.lang).or_else(|| t.label.get("nb")))
                .map_or(id.as_str(), String::as_str);
            attribute(
                "Veiviser topics",
                id,
                label,
                &format!("Emne i Veivisers emneliste: {label}"),
                topic.and_then(|t| t.parent.as_deref()),
            )
        })
        .collect();
    let urgency = serde_json::to_value(entry.urgency)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    out.push(attribute(
        "Veiviser urgency",
        &urgency,
        &urgency,
        "How urgent the situations this service is for are: emergency, crisis or ordinary.",
        None,
    ));
    if entry.channels.iter().any(|c| c.anonymous == Some(true)) {
        out.push(attribute(
            "Veiviser access",
            "anonymous",
            "anonymous",
            "At least one channel can be used without giving one's name.",
            None,
        ));
    }
    out
}

/// A channel as a service at a virtual (or physical) location, so that it can carry its own
/// phones and schedules, which HSDS cannot attach to a phone directly.
fn channel_at_location(
    entry: &ServiceEntry,
    index: usize,
    channel: &Channel,
    service_id: &str,
    periods: &[Period],
) -> Value {
    let key = format!("{}:{index}", entry.id);
    let id = stable_id("service-at-location", &key);
    let kind = channel.kind.as_str();
    let address = channel.address.as_deref();
    let mut location = json!({
        "id": stable_id("location", &key),
        "location_type": if channel.kind == ChannelKind::InPerson { "physical" } else { "virtual" },
        "name": match address {
            Some(address) => format!("{kind}: {address}"),
            None => kind.to_string(),
        },
    });
    let url = address.filter(|a| a.starts_with("https://") || a.starts_with("http://"));
    if let Some(url) = url {
        location["url"] = json!(url);
    }
    if channel.kind == ChannelKind::InPerson {
        if let Some(address) = address {
            location["description"] = json!(address);
        }
    }
    let mut at = json!({
        "id": id,
        "service_id": service_id,
        "location_id": location["id"].clone(),
        "location": location,
    });
    let phone_type = match channel.kind {
        ChannelKind::Phone => Some("voice"),
        ChannelKind::Sms => Some("text"),
        ChannelKind::TextPhone => Some("textphone"),
        _ => None,
    };
    if let (Some(phone_type), Some(number)) = (phone_type, address) {
        at["phones"] = json!([{
            "id": stable_id("phone", &key),
            "service_at_location_id": id,
            "number": number,
            "type": phone_type,
            "languages": channel.languages.iter().map(|c| language(c)).collect::<Vec<_>>(),
        }]);
    }
    if let Some(email) = address.filter(|_| channel.kind == ChannelKind::Email) {
        at["contacts"] = json!([{
            "id": stable_id("contact", &key),
            "service_at_location_id": id,
            "email": email,
        }]);
    }
    if let Some(hours) = &channel.hours {
        at["schedules"] = json!(schedules(hours, &key, &id, periods));
    }
    at
}

/// A stretch of days with one UTC offset in Oslo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub offset_hours: i32,
}

/// The daylight-saving periods of the `days` from `start`, by Oslo's offset at noon.
pub fn offset_periods(start: NaiveDate, days: u64) -> Vec<Period> {
    let offset_on = |date: NaiveDate| {
        let noon = date.and_hms_opt(12, 0, 0).expect("noon exists");
        Oslo.from_local_datetime(&noon)
            .single()
            .map_or(1, |t| t.offset().fix().local_minus_utc() / 3600)
    };
    let mut periods: Vec<Period> = Vec::new();
    for n in 0..days {
        let Some(date) = start.checked_add_days(Days::new(n)) else {
            break;
        };
        let offset_hours = offset_on(date);
        match periods.last_mut() {
            Some(p) if p.offset_hours == offset_hours => p.to = date,
            _ => periods.push(Period {
                from: date,
                to: date,
                offset_hours,
            }),
        }
    }
    periods
}

fn schedules(hours: &OpeningHours, key: &str, at_id: &str, periods: &[Period]) -> Vec<Value> {
    let mut notes = Vec::new();
    if let Some(note) = &hours.note {
        notes.push(note.clone());
    }
    match &hours.holidays {
        HolidayPolicy::Closed => notes.push("Stengt på helligdager.".to_string()),
        HolidayPolicy::Special(_) => notes.push("Egne åpningstider på helligdager.".to_string()),
        HolidayPolicy::AsWeekday => {}
    }
    let rules: Vec<(String, String, String)> = if hours.always_open {
        vec![(DAYS.join(","), "00:00".into(), "23:59".into())]
    } else {
        hours
            .weekly
            .iter()
            .map(|rule| {
                let days: Vec<&str> = rule.days.iter().map(|d| DAYS[d.index() as usize]).collect();
                (
                    days.join(","),
                    rule.opens.to_string(),
                    rule.closes.to_string(),
                )
            })
            .collect()
    };
    let mut out = Vec::new();
    for (r, (byday, opens, closes)) in rules.iter().enumerate() {
        for period in periods {
            let offset = format!("{:+03}:00", period.offset_hours);
            let mut schedule = json!({
                "id": stable_id("schedule", &format!("{key}:{r}:{}", period.from)),
                "service_at_location_id": at_id,
                "valid_from": period.from.to_string(),
                "valid_to": period.to.to_string(),
                "freq": "WEEKLY",
                "byday": byday,
                "opens_at": format!("{opens}{offset}"),
                "closes_at": format!("{closes}{offset}"),
                "timezone": period.offset_hours,
            });
            let mut description = notes.clone();
            if closes <= opens && !hours.always_open {
                description.push(format!("Åpent fra {opens} til {closes} neste dag."));
            }
            if !description.is_empty() {
                schedule["description"] = json!(description.join(" "));
            }
            out.push(schedule);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_year_splits_at_the_daylight_saving_switches() {
        let start = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let periods = offset_periods(start, 365);
        let spans: Vec<_> = periods
            .iter()
            .map(|p| (p.from.to_string(), p.to.to_string(), p.offset_hours))
            .collect();
        assert_eq!(
            spans,
            [
                ("2026-11-22".into(), "2027-03-27".into(), 1),
                ("2027-03-28".into(), "2027-10-30".into(), 2),
                ("2027-10-31".into(), "2027-11-21".into(), 1),
            ]
        );
    }

    #[test]
    fn ids_are_stable_uuids() {
        let a = stable_id("service", "kirkens-sos");
        assert_eq!(a, stable_id("service", "kirkens-sos"));
        assert_ne!(a, stable_id("organization", "kirkens-sos"));
        assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 5);
    }
}
