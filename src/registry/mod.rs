//! The registry: what agencies and the operator can do with the catalogue. It checks who may
//! do what, validates, assigns versions and timestamps, and writes through the store.
//! No HTTP here: the API maps [`RegistryError`] to statuses.

mod changes;
mod export;
mod harvest;
mod import;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use serde_json::Value;
use tokio::sync::watch;

use crate::auth::{self, Principal};
use crate::model::change::{AgencyRecord, Attribution, AuditRecord, ChangeKind};
use crate::model::entry::ChannelKind;
use crate::model::ids::is_slug;
use crate::model::query::{ServiceQuery, StatusFilter};
use crate::model::{Agency, ServiceEntry, Status, Validator, Violations};
use crate::store::{self, AgencyWrite, MetaKey, ServiceWrite, SharedStore, StoreError};

pub use crate::model::change::ChangePage;
pub use changes::{MAX_CHANGES, MAX_WAIT};
pub use harvest::Applied;
pub use import::{ImportReport, ImportSource, SourceDocument};

/// The registry layer's error.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("the document is invalid: {0}")]
    Invalid(Violations),
    #[error("the query is invalid: {0}")]
    BadQuery(Violations),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the entry is at version {current}; fetch it again and retry with its ETag")]
    VersionMismatch { current: u64 },
    #[error("send If-Match with the ETag of the version you changed")]
    PreconditionRequired,
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// The version an update is based on, from `If-Match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// `If-Match: *`: any current version.
    Any,
    /// `If-Match: "<version>"`.
    Version(u64),
    /// An `If-Match` that is no ETag of ours: it matches no version.
    Unparseable,
}

/// Filters for listing services.
#[derive(Debug, Default, Clone)]
pub struct ServiceFilter {
    pub topic: Option<String>,
    pub municipality: Option<String>,
    pub county: Option<String>,
    pub agency: Option<String>,
    pub channel: Option<String>,
    pub status: Option<String>,
    /// Opaque cursor from a previous page.
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

/// One page of services.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct ServicePage {
    pub items: Vec<ServiceEntry>,
    pub next_cursor: Option<String>,
}

pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 200;

/// The catalogue's operations. Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    store: SharedStore,
    validator: Arc<Validator>,
    /// The last change sequence number that is durable; watchers (health checks, the
    /// router's index, the change feed) wake when it moves.
    committed: Arc<watch::Sender<u64>>,
}

impl Registry {
    pub async fn new(store: SharedStore, validator: Arc<Validator>) -> Result<Self> {
        let last = store.last_change_seq().await?;
        let committed = Arc::new(watch::channel(last).0);
        // Other instances sharing the store write too: their changes move the same signal.
        if let Some(mut shared) = store.change_signal() {
            let committed = committed.clone();
            tokio::spawn(async move {
                while shared.changed().await.is_ok() {
                    let last = *shared.borrow_and_update();
                    store::advance_signal(&committed, last);
                }
            });
        }
        Ok(Registry {
            store,
            validator,
            committed,
        })
    }

    /// Follows the last durable change sequence number.
    pub fn watch_changes(&self) -> watch::Receiver<u64> {
        self.committed.subscribe()
    }

    /// Tells the watchers about the writes made so far (every store write returns durable).
    async fn commit(&self) -> Result<()> {
        let last = self.store.last_change_seq().await?;
        store::advance_signal(&self.committed, last);
        Ok(())
    }

    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    // ----- who is calling -----

    /// The principal a bearer token belongs to, or `None` if it belongs to nobody.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Principal>> {
        if let Some(agency) = auth::agency_of_token(token) {
            let hash = self.store.agency(agency).await?.and_then(|r| r.token_hash);
            let ok = hash.is_some_and(|h| auth::token_matches(token, &h));
            return Ok(ok.then(|| Principal::Agency(agency.to_string())));
        }
        let hash = self.store.meta(MetaKey::AdminTokenHash).await?;
        Ok(hash
            .filter(|h| auth::token_matches(token, h))
            .map(|_| Principal::Operator))
    }

    // ----- services -----

    pub async fn get_service(&self, id: &str) -> Result<ServiceEntry> {
        match self.store.service(id).await? {
            None => Err(RegistryError::NotFound(format!("no service '{id}'"))),
            Some(e) if e.status == Status::Retired => Err(RegistryError::Gone(format!(
                "the service '{id}' is retired"
            ))),
            Some(e) => Ok(e),
        }
    }

    /// Checks a new entry as [`Registry::create_service`] would, without storing it.
    pub async fn check_new_service(
        &self,
        principal: Option<&Principal>,
        doc: &Value,
    ) -> Result<ServiceEntry> {
        let owner = self.owner_for_new(principal, doc).await?;
        let mut entry = self
            .validator
            .validate_entry(doc)
            .map_err(RegistryError::Invalid)?;
        if let Some(owner) = owner {
            entry.agency = owner;
        }
        if self.store.service(&entry.id).await?.is_some() {
            return Err(RegistryError::Conflict(format!(
                "a service with the id '{}' exists already",
                entry.id
            )));
        }
        Ok(entry)
    }

    /// Registers a new entry owned by the calling agency (or, for the operator, by the
    /// agency the entry names).
    pub async fn create_service(&self, principal: &Principal, doc: &Value) -> Result<ServiceEntry> {
        let mut entry = self.check_new_service(Some(principal), doc).await?;
        let now = Utc::now();
        entry.version = Some(1);
        entry.created_at = Some(now);
        entry.updated_at = Some(now);
        if matches!(principal, Principal::Agency(_)) {
            entry.last_verified_at = Some(now);
        }
        let by = Attribution {
            actor: &principal.actor(),
            at: now,
        };
        self.store
            .write_service(ServiceWrite::Create(&entry), &by)
            .await
            .map_err(|e| match e {
                StoreError::AlreadyExists(id) => {
                    RegistryError::Conflict(format!("a service with the id '{id}' exists already"))
                }
                e => e.into(),
            })?;
        self.commit().await?;
        Ok(entry)
    }

    /// Replaces an entry. Only its owner (or the operator) may, and only from its current version.
    pub async fn replace_service(
        &self,
        principal: &Principal,
        id: &str,
        precondition: Option<Precondition>,
        doc: &Value,
    ) -> Result<ServiceEntry> {
        let current = self.get_service(id).await?;
        self.check_owner(principal, &current)?;
        check_precondition(
            precondition.ok_or(RegistryError::PreconditionRequired)?,
            &current,
        )?;
        let mut violations = Violations::default();
        if let Some(doc_id) = doc.get("id").and_then(Value::as_str) {
            if doc_id != id {
                violations.push(
                    "/id",
                    format!("the id '{doc_id}' differs from the URL's '{id}'"),
                );
            }
        }
        let owner = match (principal, doc.get("agency").and_then(Value::as_str)) {
            (_, None | Some("")) => current.agency.clone(),
            (Principal::Agency(me), Some(named)) if named != me => {
                return Err(RegistryError::Forbidden(format!(
                    "an agency cannot hand its entry to '{named}'"
                )));
            }
            (Principal::Operator, Some(named)) => {
                self.require_agency(named).await?;
                named.to_string()
            }
            (_, Some(named)) => named.to_string(),
        };
        let mut entry = match self.validator.validate_entry(doc) {
            Ok(entry) if violations.is_empty() => entry,
            Ok(_) => return Err(RegistryError::Invalid(violations)),
            Err(mut more) => {
                violations.0.append(&mut more.0);
                return Err(RegistryError::Invalid(violations));
            }
        };
        let now = Utc::now();
        entry.agency = owner;
        entry.version = Some(current.version.unwrap_or(0) + 1);
        entry.created_at = current.created_at;
        entry.updated_at = Some(now);
        if matches!(principal, Principal::Agency(_)) {
            // An update by the owner confirms the entry.
            entry.last_verified_at = Some(now);
        }
        let kind = if entry.status == Status::Retired {
            ChangeKind::Retired
        } else {
            ChangeKind::Updated
        };
        self.write_replacement(principal, &entry, &current, kind)
            .await?;
        Ok(entry)
    }

    /// Retires an entry: it stays in the audit history, and public reads answer "gone".
    pub async fn retire_service(
        &self,
        principal: &Principal,
        id: &str,
        precondition: Option<Precondition>,
    ) -> Result<ServiceEntry> {
        let current = self.get_service(id).await?;
        self.check_owner(principal, &current)?;
        if let Some(p) = precondition {
            check_precondition(p, &current)?;
        }
        let now = Utc::now();
        let mut entry = current.clone();
        entry.status = Status::Retired;
        entry.version = Some(current.version.unwrap_or(0) + 1);
        entry.updated_at = Some(now);
        self.write_replacement(principal, &entry, &current, ChangeKind::Retired)
            .await?;
        Ok(entry)
    }

    async fn write_replacement(
        &self,
        principal: &Principal,
        entry: &ServiceEntry,
        current: &ServiceEntry,
        kind: ChangeKind,
    ) -> Result<()> {
        let by = Attribution {
            actor: &principal.actor(),
            at: entry.updated_at.unwrap_or_else(Utc::now),
        };
        let expected = current.version.unwrap_or(0);
        let write = ServiceWrite::Replace {
            entry,
            expected_version: expected,
            kind,
        };
        self.store
            .write_service(write, &by)
            .await
            .map_err(|e| match e {
                // Another writer got in between our read and our write.
                StoreError::VersionMismatch { current, .. } => {
                    RegistryError::VersionMismatch { current }
                }
                e => e.into(),
            })?;
        self.commit().await?;
        Ok(())
    }

    /// Records that the owner confirmed the entry is correct: `last_verified_at` becomes now.
    pub async fn verify_service(&self, principal: &Principal, id: &str) -> Result<ServiceEntry> {
        let current = self.get_service(id).await?;
        self.check_owner(principal, &current)?;
        let now = Utc::now();
        let mut entry = current.clone();
        entry.last_verified_at = Some(now);
        entry.version = Some(current.version.unwrap_or(0) + 1);
        entry.updated_at = Some(now);
        self.write_replacement(principal, &entry, &current, ChangeKind::Updated)
            .await?;
        Ok(entry)
    }

    /// An entry that `principal` may act on as its owner (or as the operator).
    pub async fn owned_service(&self, principal: &Principal, id: &str) -> Result<ServiceEntry> {
        let entry = self.get_service(id).await?;
        self.check_owner(principal, &entry)?;
        Ok(entry)
    }

    /// A page of services matching `filter`, in id order.
    pub async fn list_services(&self, filter: &ServiceFilter) -> Result<ServicePage> {
        let query = self.service_query(filter)?;
        let page = self.store.services(&query).await?;
        let next_cursor = if page.more {
            page.items.last().map(|e| e.id.clone())
        } else {
            None
        };
        Ok(ServicePage {
            items: page.items,
            next_cursor,
        })
    }

    /// The listing's query parameters, checked against the reference data, as a query.
    fn service_query(&self, f: &ServiceFilter) -> Result<ServiceQuery> {
        let reference = self.validator.reference();
        let mut bad = Violations::default();
        if let Some(limit) = f.limit {
            if !(1..=MAX_PAGE).contains(&limit) {
                bad.push("/limit", format!("limit must be from 1 to {MAX_PAGE}"));
            }
        }
        if let Some(c) = &f.cursor {
            if !is_slug(c) {
                bad.push("/cursor", "not a cursor from this API");
            }
        }
        // A category matches entries tagged with it or with any of its subtopics.
        let topics = f.topic.as_ref().map(|t| {
            if !reference.taxonomy.contains(t) {
                bad.push("/topic", format!("unknown topic '{t}'"));
            }
            reference
                .taxonomy
                .topics()
                .iter()
                .filter(|x| x.id == *t || x.parent.as_deref() == Some(t))
                .map(|x| x.id.clone())
                .collect()
        });
        if let Some(m) = &f.municipality {
            if reference.places.municipality(m).is_none() {
                bad.push(
                    "/municipality",
                    format!("'{m}' is not a municipality code of 2024"),
                );
            }
        }
        if let Some(c) = &f.county {
            if reference.places.county_name(c).is_none() {
                bad.push("/county", format!("'{c}' is not a county code of 2024"));
            }
        }
        let channel = f.channel.as_ref().and_then(|c| {
            let kind = ChannelKind::parse(c);
            if kind.is_none() {
                bad.push("/channel", format!("unknown channel kind '{c}'"));
            }
            kind
        });
        let status = f.status.as_ref().and_then(|s| {
            let status = Status::parse(s);
            if status.is_none() {
                bad.push("/status", format!("unknown status '{s}'"));
            }
            status
        });
        bad.into_result(()).map_err(RegistryError::BadQuery)?;
        Ok(ServiceQuery {
            topics,
            municipality: f.municipality.clone(),
            county: f.county.clone(),
            agency: f.agency.clone(),
            channel,
            status: status.map_or(StatusFilter::Current, StatusFilter::Only),
            after: f.cursor.clone(),
            limit: f.limit.unwrap_or(DEFAULT_PAGE),
        })
    }

    async fn owner_for_new(
        &self,
        principal: Option<&Principal>,
        doc: &Value,
    ) -> Result<Option<String>> {
        let named = doc
            .get("agency")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty());
        match (principal, named) {
            (Some(Principal::Agency(me)), Some(named)) if named != me => {
                Err(RegistryError::Forbidden(format!(
                    "agency '{me}' cannot create entries for '{named}'"
                )))
            }
            (Some(Principal::Agency(me)), _) => Ok(Some(me.clone())),
            (Some(Principal::Operator), Some(named)) => {
                self.require_agency(named).await?;
                Ok(Some(named.to_string()))
            }
            (Some(Principal::Operator), None) => Err(RegistryError::Invalid(Violations::single(
                "/agency",
                "the operator must name the owning agency",
            ))),
            (None, _) => Ok(None),
        }
    }

    async fn require_agency(&self, id: &str) -> Result<()> {
        match self.store.agency(id).await? {
            Some(_) => Ok(()),
            None => Err(RegistryError::Invalid(Violations::single(
                "/agency",
                format!("no agency '{id}' is registered"),
            ))),
        }
    }

    fn check_owner(&self, principal: &Principal, entry: &ServiceEntry) -> Result<()> {
        if principal.may_change(&entry.agency) {
            Ok(())
        } else {
            Err(RegistryError::Forbidden(format!(
                "the service '{}' belongs to agency '{}'",
                entry.id, entry.agency
            )))
        }
    }

    // ----- agencies -----

    /// Registers an agency (operator only) and returns it with its first token.
    pub async fn create_agency(
        &self,
        principal: &Principal,
        doc: &Value,
    ) -> Result<(Agency, String)> {
        require_operator(principal)?;
        let mut agency = self
            .validator
            .validate_agency(doc)
            .map_err(RegistryError::Invalid)?;
        let now = Utc::now();
        agency.created_at = Some(now);
        let token = auth::new_agency_token(&agency.id);
        let record = AgencyRecord {
            agency: agency.clone(),
            token_hash: Some(auth::hash_token(&token)),
        };
        let by = Attribution {
            actor: &principal.actor(),
            at: now,
        };
        self.store
            .write_agency(AgencyWrite::Create(&record), &by)
            .await
            .map_err(|e| match e {
                StoreError::AlreadyExists(id) => {
                    RegistryError::Conflict(format!("an agency with the id '{id}' exists already"))
                }
                e => e.into(),
            })?;
        Ok((agency, token))
    }

    pub async fn get_agency(&self, id: &str) -> Result<Agency> {
        self.store
            .agency(id)
            .await?
            .map(|r| r.agency)
            .ok_or_else(|| RegistryError::NotFound(format!("no agency '{id}'")))
    }

    /// Every entry (any status) and every agency's name: what the router is built from.
    pub async fn catalogue(&self) -> Result<(Vec<ServiceEntry>, BTreeMap<String, String>)> {
        let names = self
            .list_agencies()
            .await?
            .into_iter()
            .map(|agency| (agency.id, agency.name))
            .collect();
        Ok((self.all_services().await?, names))
    }

    /// Every entry, any status.
    pub async fn all_services(&self) -> Result<Vec<ServiceEntry>> {
        Ok(self
            .store
            .services(&ServiceQuery::everything())
            .await?
            .items)
    }

    pub async fn list_agencies(&self) -> Result<Vec<Agency>> {
        Ok(self
            .store
            .agencies()
            .await?
            .into_iter()
            .map(|r| r.agency)
            .collect())
    }

    /// Issues a new token for an agency; the previous one stops working.
    pub async fn issue_agency_key(&self, principal: &Principal, id: &str) -> Result<String> {
        self.get_agency(id).await?;
        if !principal.may_change(id) {
            return Err(RegistryError::Forbidden(format!(
                "only the operator or agency '{id}' can issue its keys"
            )));
        }
        let token = auth::new_agency_token(id);
        let by = Attribution {
            actor: &principal.actor(),
            at: Utc::now(),
        };
        let write = AgencyWrite::SetToken {
            id,
            token_hash: &auth::hash_token(&token),
        };
        self.store.write_agency(write, &by).await?;
        Ok(token)
    }

    /// Replaces an agency's description (operator or that agency). Its id cannot change,
    /// and only the operator can change its organisation number.
    pub async fn replace_agency(
        &self,
        principal: &Principal,
        id: &str,
        doc: &Value,
    ) -> Result<Agency> {
        let current = self.get_agency(id).await?;
        if !principal.may_change(id) {
            return Err(RegistryError::Forbidden(format!(
                "only the operator or agency '{id}' can change it"
            )));
        }
        let mut agency = self
            .validator
            .validate_agency(doc)
            .map_err(RegistryError::Invalid)?;
        let mut bad = Violations::default();
        if agency.id != id {
            bad.push(
                "/id",
                format!("the id '{}' differs from the URL's '{id}'", agency.id),
            );
        }
        if agency.org_number != current.org_number && *principal != Principal::Operator {
            bad.push(
                "/org_number",
                "only the operator can change an agency's organisation number",
            );
        }
        bad.into_result(()).map_err(RegistryError::Invalid)?;
        agency.created_at = current.created_at;
        let by = Attribution {
            actor: &principal.actor(),
            at: Utc::now(),
        };
        self.store
            .write_agency(AgencyWrite::Describe(&agency), &by)
            .await?;
        Ok(agency)
    }

    // ----- operator -----

    /// The last change sequence number handed out (0 when none).
    pub async fn last_change_seq(&self) -> Result<u64> {
        Ok(self.store.last_change_seq().await?)
    }

    /// Whether durable writes work now. After one failed, a probe write finds out whether
    /// they work again, so that readiness heals with the disk and not only with traffic.
    pub async fn writes_work(&self) -> bool {
        let Some(faults) = self.store.faults() else {
            return true;
        };
        if !faults.writes_failing() {
            return true;
        }
        let now = Utc::now().to_rfc3339();
        self.store.set_meta(MetaKey::WriteProbe, &now).await.is_ok()
    }

    /// What the store has failed at since the start, for `/metrics`.
    pub fn store_faults(&self) -> Option<crate::store::guard::FaultCounts> {
        self.store.faults().map(|faults| faults.counts())
    }

    /// The store's sizes, for `/metrics` and `/readyz`.
    pub async fn store_stats(&self) -> Result<crate::store::StoreStats> {
        Ok(self.store.stats().await?)
    }

    /// Whether the default catalogue was loaded here once already (so that entries retired
    /// since are not brought back at the next start).
    pub async fn is_seeded(&self) -> Result<bool> {
        Ok(self.store.meta(MetaKey::Seeded).await?.is_some())
    }

    pub async fn mark_seeded(&self) -> Result<()> {
        Ok(self.store.set_meta(MetaKey::Seeded, "1").await?)
    }

    pub async fn has_operator_token(&self) -> Result<bool> {
        Ok(self.store.meta(MetaKey::AdminTokenHash).await?.is_some())
    }

    /// Sets the hash of the operator token; the previous token stops working at once.
    pub async fn set_operator_token_hash(&self, hash: &str) -> Result<()> {
        Ok(self.store.set_meta(MetaKey::AdminTokenHash, hash).await?)
    }

    /// Audit records after `after` (operator only).
    pub async fn audit(
        &self,
        principal: &Principal,
        after: u64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>> {
        require_operator(principal)?;
        Ok(self.store.audit_since(after, limit).await?)
    }
}

fn require_operator(principal: &Principal) -> Result<()> {
    match principal {
        Principal::Operator => Ok(()),
        Principal::Agency(_) => Err(RegistryError::Forbidden(
            "only the operator can do this".into(),
        )),
    }
}

fn check_precondition(precondition: Precondition, current: &ServiceEntry) -> Result<()> {
    let version = current.version.unwrap_or(0);
    match precondition {
        Precondition::Any => Ok(()),
        Precondition::Version(v) if v == version => Ok(()),
        Precondition::Version(_) | Precondition::Unparseable => {
            Err(RegistryError::VersionMismatch { current: version })
        }
    }
}
