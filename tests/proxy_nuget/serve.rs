//! The NuGet frontend served in-process over an [`Env`]'s store on a loopback port (plain
//! HTTP, no secret: the routes alone), with packages written as zips in the test and raw HTTP
//! requests, for what nuget.exe does not show: the flat container's version list and
//! `.nuspec`, case-insensitive paths, registration leaves, search paging and filters, and the
//! push endpoint's answers to bodies nuget.exe would not send.

#![allow(dead_code)] // each test uses a part

use std::io::Write;
use std::sync::Arc;

use opp::mapper::Mapper;
use opp::output::Output;
use opp::proxy::nuget::NugetFrontend;
use opp::proxy::{Frontend, ProxyState};
use opp::store::layout::LayoutStore;

use crate::support::cli::Env;

pub struct Served {
    pub rt: tokio::runtime::Runtime,
    pub base: String,
}

/// One answer: status, headers, body.
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Served {
    /// The frontend over `env`'s store, accepting pushes up to `max_upload` bytes.
    pub fn start(env: &Env, max_upload: u64) -> Served {
        opp::store::registry::install_crypto_provider();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind a loopback port");
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let state = Arc::new(ProxyState {
            store: Arc::new(LayoutStore::new(env.store())),
            mapper: Mapper::new("").unwrap(),
            out: Output::new(true),
            base_url: base.clone(),
            pypi_upstream: None,
            module_host: "localhost".into(),
            max_upload,
            access: opp::proxy::access::Access::with_secret("s3cret"),
            spool: opp::proxy::spool::Spool::new(&std::env::temp_dir(), 1 << 30).expect("a spool"),
        });
        let app = NugetFrontend.router().with_state(state);
        rt.spawn(async move { axum::serve(listener, app).await });
        Served { rt, base }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send(reqwest::Method::GET, path, &[], None)
    }

    pub fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<reqwest::Body>,
    ) -> Reply {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let mut req = client.request(method, format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        self.rt.block_on(async {
            let resp = req.send().await.expect("the proxy answers");
            Reply {
                status: resp.status().as_u16(),
                headers: resp.headers().clone(),
                body: resp.bytes().await.expect("a body").to_vec(),
            }
        })
    }

    /// Pushes `nupkg` as nuget.exe does: `PUT …/api/v2/package/`, multipart with a quoted
    /// boundary, chunked (the body is a stream of unknown length).
    pub fn push_like_nuget(&self, nupkg: &[u8]) -> Reply {
        let boundary = "opp-test-boundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Type: application/octet-stream\r\n\
             Content-Disposition: form-data; name=package; filename=package.nupkg; \
             filename*=utf-8''package.nupkg\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(nupkg);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            body.chunks(1000).map(|c| Ok(c.to_vec())).collect();
        let stream = futures_util::stream::iter(chunks);
        self.send(
            reqwest::Method::PUT,
            "/nuget/api/v2/package/",
            &[(
                "content-type",
                &format!("multipart/form-data; boundary=\"{boundary}\""),
            )],
            Some(reqwest::Body::wrap_stream(stream)),
        )
    }
}

/// A `.nupkg` made in memory: a zip holding `{id}.nuspec` (with `extra` inside `<metadata>`)
/// and a content file.
pub fn nupkg(id: &str, version: &str, extra: &str) -> Vec<u8> {
    let nuspec = nuspec(id, version, extra);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file(format!("{id}.nuspec"), options).unwrap();
    zip.write_all(nuspec.as_bytes()).unwrap();
    zip.start_file(format!("content/{id}.txt"), options)
        .unwrap();
    zip.write_all(format!("{id} {version}\n").as_bytes())
        .unwrap();
    zip.finish().unwrap().into_inner()
}

pub fn nuspec(id: &str, version: &str, extra: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <package xmlns=\"http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd\">\n  \
         <metadata>\n    <id>{id}</id>\n    <version>{version}</version>\n    \
         <authors>opp tests</authors>\n    <description>{id} {version}</description>\n    \
         {extra}\n  </metadata>\n</package>\n"
    )
}
