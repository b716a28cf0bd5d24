//! Finding a process's inspector: its listening sockets from `/proc`, and the
//! inspector's HTTP endpoints (`/json/list`, `/json/version`).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use serde::Deserialize;

use crate::error::{InspectorError, Result};

/// One debuggable target as `/json/list` describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct TargetInfo {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub url: String,
    #[serde(rename = "webSocketDebuggerUrl")]
    pub web_socket_debugger_url: Option<String>,
}

/// GET `path` from an inspector's HTTP endpoint. The Host header is the IP
/// literal: the inspector refuses other host names (DNS-rebinding guard).
async fn get_json<T: for<'de> Deserialize<'de>>(addr: SocketAddr, path: &str) -> Result<T> {
    let connect_error = |reason: String| InspectorError::Connect {
        url: format!("http://{addr}{path}"),
        reason,
    };
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| connect_error(e.to_string()))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| connect_error(e.to_string()))?;
        tokio::spawn(connection);
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, addr.to_string())
            .body(Empty::<Bytes>::new())
            .expect("static request");
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| connect_error(e.to_string()))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| connect_error(e.to_string()))?
            .to_bytes();
        if !status.is_success() {
            return Err(connect_error(format!("HTTP {status}")));
        }
        serde_json::from_slice(&body)
            .map_err(|_| connect_error("the answer is not an inspector's JSON".to_owned()))
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| connect_error("no answer within 5 s".to_owned()))?
}

/// The targets listed by the inspector at `addr`.
pub async fn list_targets(addr: SocketAddr) -> Result<Vec<TargetInfo>> {
    get_json(addr, "/json/list").await
}

/// `Some("node.js/v20…")` when `addr` is a Node inspector.
pub async fn inspector_version(addr: SocketAddr) -> Option<String> {
    #[derive(Deserialize)]
    struct Version {
        #[serde(rename = "Browser")]
        browser: String,
    }
    let v: Version = get_json(addr, "/json/version").await.ok()?;
    v.browser.starts_with("node.js/").then_some(v.browser)
}

/// TCP ports in LISTEN state in the process's network namespace, with the
/// socket inode of each, from `/proc/<pid>/net/tcp{,6}`.
fn listening_sockets(pid: u32) -> Vec<(u16, u64)> {
    let mut found = Vec::new();
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 10 || fields[3] != "0A" {
                continue;
            }
            let port = fields[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if let (Some(port), Ok(inode)) = (port, fields[9].parse()) {
                found.push((port, inode));
            }
        }
    }
    found
}

/// Socket inodes the process holds open.
fn socket_inodes(pid: u32) -> BTreeSet<u64> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return BTreeSet::new();
    };
    dir.filter_map(|entry| {
        let link = std::fs::read_link(entry.ok()?.path()).ok()?;
        let link = link.to_str()?;
        link.strip_prefix("socket:[")?
            .strip_suffix(']')?
            .parse()
            .ok()
    })
    .collect()
}

/// Ports this very process listens on.
pub fn listening_ports(pid: u32) -> BTreeSet<u16> {
    let mine = socket_inodes(pid);
    listening_sockets(pid)
        .into_iter()
        .filter(|(_, inode)| mine.contains(inode))
        .map(|(port, _)| port)
        .collect()
}

/// Whether some socket in the process's network namespace listens on `port`.
pub fn port_listened(pid: u32, port: u16) -> bool {
    listening_sockets(pid).iter().any(|&(p, _)| p == port)
}
