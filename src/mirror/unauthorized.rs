//! An upstream's `401 Unauthorized`, for every `opp mirror` ecosystem: what answered, whether
//! opp sent credentials and where they came from (never their values), and, as hints, what to
//! do: check the credentials sent, or give them where this ecosystem's tools keep them.

use crate::error::{Diagnostic, Kind};

/// The credentials opp sent with the refused request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    /// None were found for the upstream.
    Nothing,
    /// Some were, from a source opp does not name (the URL the user gave).
    Unnamed,
    /// Some were, from this source (`~/.netrc`, `BUNDLE_HOST in the environment`, ...).
    From(String),
}

/// `upstream` answered 401.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{upstream} answered 401 Unauthorized {}", self.sent_text())]
pub struct Unauthorized {
    /// What answered, as the message names it (`the gem source https://...`), redacted.
    pub upstream: String,
    pub sent: Sent,
    /// Where this ecosystem's credentials can be given, as a list completing "give them ...".
    pub where_to_give: &'static str,
}

impl Unauthorized {
    fn sent_text(&self) -> String {
        match &self.sent {
            Sent::Nothing => "and opp found no credentials for it".into(),
            Sent::Unnamed => "to the credentials opp sent".into(),
            Sent::From(origin) => format!("to the credentials from {origin}"),
        }
    }
}

impl Diagnostic for Unauthorized {
    fn kind(&self) -> Option<Kind> {
        Some(Kind::Auth)
    }

    fn hints(&self) -> Vec<String> {
        vec![match &self.sent {
            Sent::Nothing => format!("give them {}", self.where_to_give),
            Sent::Unnamed | Sent::From(_) => {
                "check them: the user name or the password (or token) is wrong, expired, or \
                 lacks access to this upstream"
                    .into()
            }
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(sent: Sent) -> Unauthorized {
        Unauthorized {
            upstream: "the gem source https://gems.example/".into(),
            sent,
            where_to_give: "in ~/.netrc",
        }
    }

    #[test]
    fn the_message_says_what_was_sent_and_the_hint_what_to_do() {
        let none = refused(Sent::Nothing);
        assert_eq!(
            none.to_string(),
            "the gem source https://gems.example/ answered 401 Unauthorized and opp found no \
             credentials for it"
        );
        assert_eq!(none.hints(), ["give them in ~/.netrc"]);
        let from = refused(Sent::From("~/.netrc".into()));
        assert_eq!(
            from.to_string(),
            "the gem source https://gems.example/ answered 401 Unauthorized to the credentials \
             from ~/.netrc"
        );
        assert!(
            from.hints()[0].starts_with("check them"),
            "{:?}",
            from.hints()
        );
        assert_eq!(
            refused(Sent::Unnamed).to_string(),
            "the gem source https://gems.example/ answered 401 Unauthorized to the credentials \
             opp sent"
        );
        assert_eq!(none.kind(), Some(Kind::Auth));
    }
}
