//! The `NuGet.Config` `opp proxy` hands NuGet clients: the proxy's service index as the only
//! package source (`<clear />` first), its secret as that source's credentials (sent after
//! the proxy's `401`), the same URL as the default push source, and no disabled sources.
//! Only the text is made here: where it is written and how each client finds it is the
//! frontend's job (`nuget.rs`).

use crate::proxy::escape;

/// The key of the proxy's source (also the element holding its credentials).
pub const SOURCE_NAME: &str = "opp";

/// The file written into the proxy's temporary directory.
pub const FILE_NAME: &str = "NuGet.Config";

/// What the generated config says.
pub struct NugetConfig<'a> {
    /// The service index URL (`…/nuget/v3/index.json`).
    pub source: &'a str,
    /// The user name beside the secret (any is accepted).
    pub user: &'a str,
    /// The proxy's secret, sent as the source's password.
    pub secret: &'a str,
}

impl NugetConfig<'_> {
    pub fn render(&self) -> String {
        let source = escape(self.source);
        // NuGet 6.12 and later refuse http sources unless allowed per source.
        let insecure = if self.source.starts_with("http://") {
            " allowInsecureConnections=\"true\""
        } else {
            ""
        };
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
             <!-- Written by `opp proxy` for this run only. -->\n\
             <configuration>\n  \
               <packageSources>\n    \
                 <clear />\n    \
                 <add key=\"{SOURCE_NAME}\" value=\"{source}\" protocolVersion=\"3\"{insecure} />\n  \
               </packageSources>\n  \
               <disabledPackageSources>\n    \
                 <clear />\n  \
               </disabledPackageSources>\n  \
               <packageSourceCredentials>\n    \
                 <{SOURCE_NAME}>\n      \
                   <add key=\"Username\" value=\"{user}\" />\n      \
                   <add key=\"ClearTextPassword\" value=\"{secret}\" />\n    \
                 </{SOURCE_NAME}>\n  \
               </packageSourceCredentials>\n  \
               <config>\n    \
                 <add key=\"DefaultPushSource\" value=\"{source}\" />\n  \
               </config>\n\
             </configuration>\n",
            user = escape(self.user),
            secret = escape(self.secret),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_is_the_only_source_and_carries_the_secret() {
        let text = NugetConfig {
            source: "https://localhost:1/nuget/v3/index.json",
            user: "opp",
            secret: "s3<cret&",
        }
        .render();
        let clear = text.find("<clear />").expect("clear");
        let add = text.find("<add key=\"opp\"").expect("source");
        assert!(clear < add, "{text}");
        assert!(text.contains(
            "<add key=\"opp\" value=\"https://localhost:1/nuget/v3/index.json\" protocolVersion=\"3\" />"
        ));
        assert!(text.contains("<add key=\"ClearTextPassword\" value=\"s3&lt;cret&amp;\" />"));
        assert!(text.contains("DefaultPushSource"));
        assert!(!text.contains("allowInsecureConnections"));
    }

    #[test]
    fn a_plain_http_source_is_allowed_explicitly() {
        let text = NugetConfig {
            source: "http://127.0.0.1:1/nuget/v3/index.json",
            user: "opp",
            secret: "s",
        }
        .render();
        assert!(text.contains("allowInsecureConnections=\"true\""), "{text}");
    }
}
