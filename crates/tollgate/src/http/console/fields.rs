//! Errors beside the form fields that caused them, and the summary above a form.

use super::sentence;
use crate::domain::client::FieldError;

/// A form's field errors, each with the label the form shows for its field.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<(String, String, String)>);

impl FieldErrors {
    /// `labels` maps the service's field names to the form's labels.
    pub fn new(errors: Vec<FieldError>, labels: &[(&str, &str)]) -> FieldErrors {
        FieldErrors(
            errors
                .into_iter()
                .map(|e| {
                    let label = labels
                        .iter()
                        .find(|(f, _)| *f == e.field)
                        .map_or(e.field.as_str(), |(_, l)| l)
                        .to_owned();
                    (e.field, label, sentence(&e.message))
                })
                .collect(),
        )
    }

    /// One error not about a field of the form.
    pub fn general(message: &str) -> FieldErrors {
        FieldErrors(vec![(String::new(), String::new(), sentence(message))])
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message beside `field`, if it has one.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _, _)| f == field)
            .map(|(_, _, m)| m.as_str())
    }

    /// Every error, as the summary above the form lists them.
    pub fn summary(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(_, label, m)| {
                if label.is_empty() {
                    m.clone()
                } else {
                    format!("{label}: {m}")
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_the_forms_labels() {
        let errors = FieldErrors::new(
            vec![
                FieldError::new("api_id", "is not an API id"),
                FieldError::new("other", "is wrong."),
            ],
            &[("api_id", "API")],
        );
        assert_eq!(errors.get("api_id"), Some("Is not an API id."));
        assert_eq!(errors.get("actor"), None);
        assert_eq!(
            errors.summary(),
            ["API: Is not an API id.", "other: Is wrong."]
        );
        assert_eq!(FieldErrors::general("gone").summary(), ["Gone."]);
    }
}
