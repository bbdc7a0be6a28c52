//! The model layer's error: every problem found in a document, each with a JSON Pointer.

use schemars::JsonSchema;
use serde::Serialize;

/// One problem in a submitted document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Violation {
    /// JSON Pointer (RFC 6901) into the submitted document, `""` for the whole document.
    pub pointer: String,
    /// What is wrong, in a sentence an agency developer can act on.
    pub message: String,
}

/// Every problem found in one document; never empty when returned as an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(transparent)]
#[error("{} problem(s), first at '{}': {}", .0.len(), first_pointer(.0), first_message(.0))]
pub struct Violations(pub Vec<Violation>);

fn first_pointer(v: &[Violation]) -> &str {
    v.first().map_or("", |v| v.pointer.as_str())
}

fn first_message(v: &[Violation]) -> &str {
    v.first().map_or("", |v| v.message.as_str())
}

impl Violations {
    /// Records a problem at `pointer`.
    pub fn push(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.0.push(Violation {
            pointer: pointer.into(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `Ok(value)` when nothing was recorded, otherwise every problem.
    pub fn into_result<T>(self, value: T) -> Result<T, Violations> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// A single problem at `pointer`.
    pub fn single(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        let mut v = Self::default();
        v.push(pointer, message);
        v
    }
}
