//! The service entry: one service of one agency, as the agency describes it.
//!
//! Field names follow the concepts of Open Referral HSDS 3 and CPSV-AP-NO so that exports
//! stay mappings (see `docs/domain.md` in the shared folder): `name`/`summary`/`description`
//! are HSDS `name`/`description` and CPSV `dct:title`/`dct:description`; `channels` are CPSV
//! `cv:Channel`s and HSDS phones or virtual locations; `audience` ages are HSDS
//! `minimum_age`/`maximum_age`; `coverage` is HSDS `service_areas` and CPSV `dct:spatial`.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::hours::OpeningHours;
use super::text::{Description, Name, Summary};

/// A service as registered in Veiviser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Service entry")]
pub struct ServiceEntry {
    /// Stable id, lowercase kebab-case, unique across the catalogue.
    #[schemars(pattern(r"^[a-z0-9][a-z0-9-]{1,62}$"))]
    pub id: String,
    /// Id of the agency that owns (and alone may change) this entry. Set by the server
    /// from the caller on create; when given it must be the caller's own id.
    #[serde(default)]
    #[schemars(pattern(r"^[a-z0-9][a-z0-9-]{1,62}$"))]
    pub agency: String,
    pub name: Name,
    /// One sentence shown in result lists.
    pub summary: Summary,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Description>,
    /// The organisation that delivers the service, when it is not the owning agency
    /// (HSDS `organization`; CPSV `cv:hasCompetentAuthority`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
    /// Topic ids from the taxonomy (`GET /v1/topics`).
    #[schemars(
        length(min = 1, max = 20),
        inner(pattern(r"^[a-z0-9][a-z0-9-]{1,62}$"))
    )]
    pub topics: Vec<String>,
    /// Extra words people use for this service, for search.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50), inner(length(min = 1, max = 60)))]
    pub keywords: Vec<String>,
    /// Who the service is for.
    #[serde(default, skip_serializing_if = "Audience::is_unrestricted")]
    pub audience: Audience,
    /// Where the service is offered.
    pub coverage: Coverage,
    /// Ways to reach the service.
    #[schemars(length(min = 1, max = 20))]
    pub channels: Vec<Channel>,
    /// What situations the service is meant for.
    pub urgency: Urgency,
    #[serde(default)]
    pub status: Status,
    /// When the owner last confirmed that this entry is correct. Any update by the owner
    /// counts as a confirmation; imports keep the value they carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_verified_at: Option<DateTime<Utc>>,
    /// Where the facts in this entry come from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20), inner(length(min = 1, max = 2000)))]
    pub sources: Vec<String>,
    /// Editorial note for the catalogue's maintainers; never shown to young people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2000))]
    pub editorial_note: Option<String>,
    /// Server-managed: increases by one with every accepted change; the ETag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("readOnly" = true))]
    pub version: Option<u64>,
    /// Server-managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("readOnly" = true))]
    pub created_at: Option<DateTime<Utc>>,
    /// Server-managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("readOnly" = true))]
    pub updated_at: Option<DateTime<Utc>>,
}

impl ServiceEntry {
    /// The same entry without the fields the server manages, for comparing content.
    pub fn content(&self) -> ServiceEntry {
        ServiceEntry {
            version: None,
            created_at: None,
            updated_at: None,
            ..self.clone()
        }
    }
}

/// The organisation that delivers a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    /// Norwegian organisation number, when confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9]{3} ?[0-9]{3} ?[0-9]{3}$"))]
    pub org_number: Option<String>,
}

/// Who a service is for. Ages are inclusive: `max_age: 17` means "under 18".
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 30))]
    pub min_age: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 30))]
    pub max_age: Option<u8>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<AudienceGroup>,
    /// Who the service is for, in words, for maintainers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 500))]
    pub note: Option<String>,
}

impl Audience {
    fn is_unrestricted(&self) -> bool {
        *self == Audience::default()
    }

    /// Whether someone of `age` is inside the audience's age range.
    pub fn admits_age(&self, age: u8) -> bool {
        self.min_age.is_none_or(|min| age >= min) && self.max_age.is_none_or(|max| age <= max)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AudienceGroup {
    YoungPeople,
    Parents,
    Professionals,
}

/// Where a service is offered: the whole country, or a list of counties and municipalities
/// (2024 codes from SSB KLASS 131).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    pub scope: CoverageScope,
    /// County codes (fylkesnummer), with `scope: areas`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 15), inner(pattern(r"^[0-9]{2}$")))]
    pub counties: Vec<String>,
    /// Municipality codes (kommunenummer), with `scope: areas`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 357), inner(pattern(r"^[0-9]{4}$")))]
    pub municipalities: Vec<String>,
    /// How coverage works, in words ("every municipality has one").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 500))]
    pub note: Option<String>,
}

impl Coverage {
    /// Whether the service is offered in `municipality` (whose county is its first two digits).
    /// Whether the coverage reaches somewhere in `county` (a county code): national, the
    /// county itself, or one of its municipalities (whose codes start with the county's).
    pub fn includes_county(&self, county: &str) -> bool {
        self.scope == CoverageScope::National
            || self.counties.iter().any(|c| c == county)
            || self.municipalities.iter().any(|m| m.starts_with(county))
    }

    pub fn includes_municipality(&self, municipality: &str) -> bool {
        match self.scope {
            CoverageScope::National => true,
            CoverageScope::Areas => {
                self.municipalities.iter().any(|m| m == municipality)
                    || self
                        .counties
                        .iter()
                        .any(|c| municipality.starts_with(c.as_str()))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CoverageScope {
    /// The whole country.
    National,
    /// Only the listed counties and municipalities.
    Areas,
}

/// One way to reach a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    pub kind: ChannelKind,
    /// How to reach it: an https URL (chat, web, form, video, app, social_media), a Norwegian
    /// phone number as digits (phone, sms, text_phone), an e-mail address, or a street address
    /// (in_person). Left out when not confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 500))]
    pub address: Option<String>,
    /// Whether people can use this channel without giving their name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<bool>,
    /// Whether it costs the user nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free: Option<bool>,
    /// Languages the channel is offered in (BCP 47).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 40), inner(pattern(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")))]
    pub languages: Vec<String>,
    /// Opening hours; left out when not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<OpeningHours>,
    /// Note for maintainers (what is unconfirmed, where it comes from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1000))]
    pub note: Option<String>,
    /// How Veiviser checks that this channel is up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
}

/// Kinds of channel.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Chat,
    Phone,
    Sms,
    /// Text telephone for the deaf and hard of hearing (teksttelefon).
    TextPhone,
    Web,
    /// A web form or question service (written questions, answered later).
    Form,
    Email,
    InPerson,
    Video,
    App,
    /// Direct messages on a social-media profile.
    SocialMedia,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 11] = [
        ChannelKind::Chat,
        ChannelKind::Phone,
        ChannelKind::Sms,
        ChannelKind::TextPhone,
        ChannelKind::Web,
        ChannelKind::Form,
        ChannelKind::Email,
        ChannelKind::InPerson,
        ChannelKind::Video,
        ChannelKind::App,
        ChannelKind::SocialMedia,
    ];

    /// The wire name (`in_person`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Chat => "chat",
            ChannelKind::Phone => "phone",
            ChannelKind::Sms => "sms",
            ChannelKind::TextPhone => "text_phone",
            ChannelKind::Web => "web",
            ChannelKind::Form => "form",
            ChannelKind::Email => "email",
            ChannelKind::InPerson => "in_person",
            ChannelKind::Video => "video",
            ChannelKind::App => "app",
            ChannelKind::SocialMedia => "social_media",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// What the channel's address must be.
    pub fn address_kind(self) -> AddressKind {
        match self {
            ChannelKind::Phone | ChannelKind::Sms | ChannelKind::TextPhone => AddressKind::Phone,
            ChannelKind::Email => AddressKind::Email,
            ChannelKind::InPerson => AddressKind::Street,
            ChannelKind::Chat
            | ChannelKind::Web
            | ChannelKind::Form
            | ChannelKind::Video
            | ChannelKind::App
            | ChannelKind::SocialMedia => AddressKind::Url,
        }
    }
}

/// The form of a channel's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    Url,
    Phone,
    Email,
    Street,
}

/// How to check that a channel is up (used by the health checker).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    /// The http or https URL to probe.
    #[schemars(length(min = 1, max = 2000))]
    pub url: String,
    /// `GET` (the default) or `HEAD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<ProbeMethod>,
    /// Statuses that count as up; 200–399 when left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20), inner(range(min = 100, max = 599)))]
    pub expected_statuses: Vec<u16>,
    /// How long to wait for an answer; 3000 when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 100, max = 10000))]
    pub timeout_ms: Option<u32>,
    /// How often to check; 60 when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 86400))]
    pub interval_s: Option<u32>,
}

impl HealthCheck {
    pub const DEFAULT_TIMEOUT_MS: u32 = 3000;
    pub const DEFAULT_INTERVAL_S: u32 = 60;

    pub fn method(&self) -> ProbeMethod {
        self.method.unwrap_or(ProbeMethod::Get)
    }

    pub fn timeout_ms(&self) -> u32 {
        self.timeout_ms.unwrap_or(Self::DEFAULT_TIMEOUT_MS)
    }

    pub fn interval_s(&self) -> u32 {
        self.interval_s.unwrap_or(Self::DEFAULT_INTERVAL_S)
    }

    /// Whether `status` counts as up.
    pub fn expects(&self, status: u16) -> bool {
        if self.expected_statuses.is_empty() {
            (200..400).contains(&status)
        } else {
            self.expected_statuses.contains(&status)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ProbeMethod {
    Get,
    Head,
}

/// What situations a service is meant for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Emergency numbers and services for danger to life and health right now (110, 112, 113).
    Emergency,
    /// Crisis lines and services for acute situations (116 111, Kirkens SOS, crisis centres).
    Crisis,
    /// Everything else.
    Ordinary,
}

/// Whether a service is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Active,
    /// Temporarily not offered.
    Paused,
    /// No longer offered; kept for the audit history.
    Retired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Paused => "paused",
            Status::Retired => "retired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Status::Active, Status::Paused, Status::Retired]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}
