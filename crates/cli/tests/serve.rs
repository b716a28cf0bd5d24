//! `leakscope serve` driven in real headless Chromium: two snapshots and
//! the page's views, with the numbers on screen checked against the CLI's
//! JSON; and the guard: no token, a foreign Host or Origin is refused.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use leakscope_inspector::Client;
use serde_json::Value;

/// Two snapshots of one Node process, 1 000 then 6 000 `LeakyThing`s kept
/// in a global array, written by Node.
fn two_snapshots(dir: &Path) -> (PathBuf, PathBuf) {
    let (a, b) = (dir.join("a.heapsnapshot"), dir.join("b.heapsnapshot"));
    let script = format!(
        "class LeakyThing {{ constructor(i) {{ this.i = i; this.payload = 'payload '.repeat(4) + i; }} }}
         globalThis.keep = [];
         for (let i = 0; i < 1000; i++) keep.push(new LeakyThing(i));
         require('v8').writeHeapSnapshot({a:?});
         for (let i = 1000; i < 6000; i++) keep.push(new LeakyThing(i));
         require('v8').writeHeapSnapshot({b:?});"
    );
    node(&["-e", &script], dir);
    (a, b)
}

/// A running `leakscope serve`, stopped on drop.
struct Server {
    child: Child,
    url: String,
    addr: String,
    token: String,
}

impl Server {
    fn start(files: &[&Path]) -> Server {
        let files: Vec<&std::ffi::OsStr> = files.iter().map(|f| f.as_os_str()).collect();
        Server::start_with(&files)
    }

    fn start_with(args: &[&std::ffi::OsStr]) -> Server {
        let mut child = common::leakscope_command()
            .arg("serve")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("leakscope serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim().to_owned();
        let rest = url.strip_prefix("http://").expect("an http URL");
        let (addr, query) = rest
            .split_once("/#token=")
            .expect("a token in the URL's fragment");
        Server {
            addr: addr.to_owned(),
            token: query.to_owned(),
            url,
            child,
        }
    }
}

impl Drop for Server {
    /// SIGTERM, so the server removes its upload directory as it would for
    /// a user; SIGKILL if it has not gone within 5 s.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A raw HTTP/1.1 GET: status line's code, headers and body.
fn get(addr: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(h, _)| h.eq_ignore_ascii_case("host")) {
        request.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    // Chromium's DevTools server keeps the connection open: read the
    // headers, then Content-Length bytes (or to the end).
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let length = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    });
    let mut body = Vec::new();
    match length {
        Some(n) => {
            body.resize(n, 0);
            reader.read_exact(&mut body).unwrap();
        }
        None => {
            reader.read_to_end(&mut body).unwrap();
        }
    }
    let code = head.split(' ').nth(1).unwrap().parse().unwrap();
    (code, head, String::from_utf8(body).unwrap())
}

#[test]
fn requests_without_the_token_or_from_elsewhere_are_refused() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("serve-guard");
    let snapshot = small_app_snapshot(&dir);
    let server = Server::start(&[&snapshot]);
    let (addr, token) = (server.addr.as_str(), server.token.as_str());
    let with_token = [("X-Leakscope-Token", token)];

    assert_eq!(get(addr, "/api/snapshots", &[]).0, 401);
    assert_eq!(
        get(addr, "/api/snapshots", &[("X-Leakscope-Token", "0123")]).0,
        401
    );
    // Never from the URL or a cookie: a cookie reaches every server on
    // 127.0.0.1, and a URL can be put in a page of another origin.
    assert_eq!(
        get(addr, &format!("/api/snapshots?token={token}"), &[]).0,
        401
    );
    let port = addr.rsplit(':').next().unwrap();
    let cookie = format!("leakscope_{port}={token}");
    assert_eq!(get(addr, "/api/snapshots", &[("Cookie", &cookie)]).0, 401);
    // DNS rebinding: the right token, but a page of another site.
    let evil = format!("evil.example:{port}");
    assert_eq!(
        get(addr, "/api/snapshots", &[with_token[0], ("Host", &evil)]).0,
        403
    );
    assert_eq!(
        get(
            addr,
            "/api/snapshots",
            &[with_token[0], ("Origin", "http://evil.example")]
        )
        .0,
        403
    );
    assert_eq!(get(addr, "/", &[("Host", &evil)]).0, 403);
    // The header works; Authorization: Bearer too; no credential is ever set.
    let (code, head, body) = get(addr, "/api/snapshots", &with_token);
    assert_eq!(code, 200, "{body}");
    assert!(body.starts_with('['), "{body}");
    assert!(!head.to_ascii_lowercase().contains("access-control-allow"));
    let bearer = format!("Bearer {token}");
    assert_eq!(
        get(addr, "/api/snapshots", &[("Authorization", &bearer)]).0,
        200
    );
    // The page holds no data: served without the token, and sets nothing.
    let (code, head, body) = get(addr, "/", &[]);
    assert_eq!(code, 200);
    assert!(!head.to_ascii_lowercase().contains("set-cookie"), "{head}");
    assert!(body.contains("<script src=\"/app.js\""));
    assert!(
        head.to_ascii_lowercase()
            .contains("content-security-policy: default-src 'self'"),
        "{head}"
    );
    // The same origin is fine; nothing in the page comes from the network.
    let origin = format!("http://{addr}");
    assert_eq!(get(addr, "/app.js", &[("Origin", &origin)]).0, 200);
    let (_, _, js) = get(addr, "/app.js", &[]);
    assert!(
        !js.contains("http://")
            || js
                .matches("http://")
                .all(|_| js.contains("www.w3.org/2000/svg"))
    );
    assert!(!js.contains("https://"));
    assert!(js.contains("sessionStorage") && !js.contains("document.cookie"));
}

/// Headless Chromium with its DevTools endpoint on a free port.
struct Browser {
    child: Child,
    page_ws: String,
}

impl Browser {
    fn start(profile: &Path) -> Browser {
        let mut child = Command::new(chromium())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--remote-debugging-port=0",
                "--window-size=1400,900",
                "--no-first-run",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let mut port = None;
        for line in stderr.lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("DevTools listening on ws://") {
                port = rest.split('/').next().map(str::to_owned);
                break;
            }
        }
        let devtools = port.expect("Chromium printed its DevTools address");
        let (_, _, list) = get(&devtools, "/json/list", &[]);
        let targets: Value = serde_json::from_str(&list).unwrap();
        let page_ws = targets
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["type"] == "page")
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .expect("a page target")
            .to_owned();
        Browser { child, page_ws }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `visit` on a Chromium page that has opened `server`'s URL.
fn in_page<T>(browser: &Browser, server: &Server, visit: impl AsyncFnOnce(Client) -> T) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let page = Client::connect(&browser.page_ws).await.unwrap();
        let _: Value = page
            .call("Page.navigate", serde_json::json!({ "url": server.url }))
            .await
            .unwrap();
        visit(page).await
    })
}

/// Evaluates `expression` in the page and returns its JSON value.
async fn eval(page: &Client, expression: &str) -> Value {
    let reply: Value = page
        .call(
            "Runtime.evaluate",
            serde_json::json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        )
        .await
        .unwrap();
    assert!(
        reply.get("exceptionDetails").is_none(),
        "{expression}: {reply}"
    );
    reply["result"]["value"].clone()
}

/// Waits until `condition` (a JS expression) is true; one that throws (the
/// page is still loading) is not yet true.
async fn wait_for(page: &Client, condition: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let guarded =
            format!("(() => {{ try {{ return !!({condition}); }} catch {{ return false; }} }})()");
        if eval(page, &guarded).await == Value::Bool(true) {
            return;
        }
        if Instant::now() > deadline {
            let status = eval(page, "document.querySelector('#status')?.textContent").await;
            panic!("timed out waiting for {condition}; the page says {status}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The rows on screen in `grid`: their cells' text, and the object id.
async fn rows(page: &Client, grid: &str) -> Vec<(Vec<String>, Option<u64>)> {
    let value = eval(
        page,
        &format!(
            "[...document.querySelectorAll('{grid} .row')]
               .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
               .map(r => ({{ cells: [...r.children].map(c => c.dataset.value ?? c.textContent), id: r.dataset.id ? Number(r.dataset.id) : null }}))"
        ),
    )
    .await;
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["cells"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_owned())
                    .collect(),
                r["id"].as_u64(),
            )
        })
        .collect()
}

/// "1,234" → 1234; "+5,000" → 5000; "-12" → -12.
fn number(text: &str) -> i64 {
    text.replace([',', '+'], "")
        .parse()
        .unwrap_or_else(|_| panic!("{text:?}"))
}

async fn screenshot(page: &Client, path: &Path) {
    let shot: Value = page
        .call(
            "Page.captureScreenshot",
            serde_json::json!({ "format": "png" }),
        )
        .await
        .unwrap();
    let data = shot["data"].as_str().unwrap();
    let bytes = base64_decode(data);
    assert_eq!(&bytes[1..4], b"PNG");
    std::fs::write(path, bytes).unwrap();
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = text.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let v: Vec<u32> = chunk.iter().map(|&c| value(c) as u32).collect();
        let n = v.iter().fold(0u32, |acc, &x| acc << 6 | x) << (6 * (4 - v.len()));
        out.extend(&n.to_be_bytes()[1..v.len()]);
    }
    out
}

async fn click_view(page: &Client, view: &str) {
    eval(
        page,
        &format!("document.querySelector('#views [data-view={view}]').click()"),
    )
    .await;
    wait_for(
        page,
        &format!("document.body.dataset.viewReady === '{view}'"),
    )
    .await;
}

#[test]
fn every_view_shows_the_cli_s_numbers_in_headless_chromium() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("serve-ui");
    let (a, b) = two_snapshots(&dir);
    let summary = leakscope_json(&["summary", b.to_str().unwrap(), "--top", "0", "--json"]);
    let diff = leakscope_json(&["diff", a.to_str().unwrap(), b.to_str().unwrap(), "--json"]);
    let server = Server::start(&[&a, &b]);
    let browser = Browser::start(&dir.join("chromium-profile"));
    in_page(&browser, &server, async |page| {
        wait_for(&page, "document.querySelector('#status') && document.querySelector('#status').dataset.ready === 'all'").await;
        wait_for(&page, "document.body.dataset.viewReady === 'summary'").await;
        // The token left the address bar for the page's session storage.
        let location = eval(&page, "location.href").await;
        assert!(!location.as_str().unwrap().contains("token"), "{location}");
        // No cookie: one for 127.0.0.1 would reach every local server.
        assert_eq!(eval(&page, "document.cookie").await, "");
        assert_eq!(
            eval(&page, "sessionStorage.getItem('leakscope-token')").await,
            server.token.as_str()
        );
        // The last snapshot is shown; its Summary rows are the CLI's, in order.
        assert_eq!(
            eval(
                &page,
                "document.querySelector('#snapshot-list [aria-selected=true] .name').textContent"
            )
            .await,
            "b.heapsnapshot"
        );
        let shown = rows(&page, "#grid").await;
        let classes = summary["classes"].as_array().unwrap();
        assert!(shown.len() >= 10, "{shown:?}");
        for ((cells, _), class) in shown.iter().zip(classes).take(10) {
            // Name, count, distance, shallow, %, retained, %.
            assert_eq!(
                cells[0].trim_start_matches(['▸', '▾']),
                class["name"].as_str().unwrap()
            );
            assert_eq!(number(&cells[1]), class["count"].as_i64().unwrap());
            assert_eq!(number(&cells[3]), class["shallowSize"].as_i64().unwrap());
            assert_eq!(number(&cells[5]), class["retainedSize"].as_i64().unwrap());
        }
        screenshot(&page, &dir.join("summary.png")).await;

        // Filter to the leaking class and expand it: 6 000 instances,
        // of which only the rows on screen are in the page.
        eval(&page, "{ const f = document.querySelector('#class-filter'); f.value = 'LeakyThing'; f.dispatchEvent(new Event('input')); }").await;
        wait_for(&page, "document.querySelectorAll('#grid .row').length === 1 && document.body.dataset.viewReady === 'summary'").await;
        let leaky = classes.iter().find(|c| c["name"] == "LeakyThing").unwrap();
        let shown = rows(&page, "#grid").await;
        assert_eq!(number(&shown[0].0[1]), 6000);
        assert_eq!(
            number(&shown[0].0[5]),
            leaky["retainedSize"].as_i64().unwrap()
        );
        eval(
            &page,
            "document.querySelector('#grid .row .toggle').click()",
        )
        .await;
        wait_for(
            &page,
            "document.querySelectorAll('#grid .row[data-id]').length > 10",
        )
        .await;
        let in_dom = eval(&page, "document.querySelectorAll('#grid .row').length")
            .await
            .as_u64()
            .unwrap();
        assert!(in_dom < 200, "virtual: {in_dom} rows in the DOM for 6001");
        // Scroll to the end: the last instances are fetched and shown.
        eval(&page, "{ const v = document.querySelector('#grid .viewport'); v.scrollTop = v.scrollHeight; }").await;
        wait_for(&page, "[...document.querySelectorAll('#grid .row')].some(r => parseFloat(r.style.top) >= 6000 * 20 && r.dataset.id)").await;
        eval(
            &page,
            "{ const v = document.querySelector('#grid .viewport'); v.scrollTop = 0; }",
        )
        .await;
        // Back at the top: the first instance's row (the second row) is
        // rendered again — rows near the end also have ids, so wait for it.
        wait_for(
            &page,
            "[...document.querySelectorAll('#grid .row')].some(r => r.style.top === '20px' && r.dataset.id)",
        )
        .await;

        // Select the largest instance: its retainers are the CLI's path.
        let shown = rows(&page, "#grid").await;
        let (_, first) = &shown[1];
        let id = first.expect("an instance row has an id");
        eval(
            &page,
            &format!("document.querySelector('#grid .row[data-id=\"{id}\"]').click()"),
        )
        .await;
        wait_for(
            &page,
            "document.querySelectorAll('#retainers .row[data-id]').length > 0",
        )
        .await;
        let (holder, edge) = first_retainer(&b, id);
        let retainers = rows(&page, "#retainers").await;
        assert_eq!(retainers[0].1, Some(holder), "{retainers:?}");
        assert!(retainers[0].0[0].contains(&edge), "{retainers:?}");
        screenshot(&page, &dir.join("retainers.png")).await;
        // Ignoring that retainer hides it.
        eval(
            &page,
            "document.querySelector('#retainers .row .ignore').click()",
        )
        .await;
        wait_for(
            &page,
            "document.querySelector('#retainers .ignored-note') !== null",
        )
        .await;

        // Search by id finds the same object.
        eval(&page, &format!("document.querySelector('#search').value = '@{id}'; document.querySelector('#search-form').requestSubmit()")).await;
        wait_for(
            &page,
            &format!("document.querySelector('#retainers-of').textContent.endsWith('@{id}')"),
        )
        .await;

        // Comparison against the first snapshot: the CLI's diff.
        eval(&page, "document.querySelector('#class-filter').value = ''").await;
        click_view(&page, "comparison").await;
        let shown = rows(&page, "#grid").await;
        let changed = diff["classes"].as_array().unwrap();
        for ((cells, _), class) in shown.iter().zip(changed).take(8) {
            assert_eq!(
                cells[0].trim_start_matches(['▸', '▾']),
                class["name"].as_str().unwrap()
            );
            assert_eq!(number(&cells[1]), class["addedCount"].as_i64().unwrap());
            assert_eq!(number(&cells[2]), class["removedCount"].as_i64().unwrap());
            assert_eq!(number(&cells[6]), class["sizeDelta"].as_i64().unwrap());
        }
        let leaky_row = shown
            .iter()
            .find(|(c, _)| c[0].ends_with("LeakyThing"))
            .expect("LeakyThing changed");
        assert_eq!(number(&leaky_row.0[1]), 5000);
        // Expanded, a class lists its new objects: in b, not in a.
        eval(&page, "[...document.querySelectorAll('#grid .row')].find(r => r.textContent.includes('LeakyThing')).querySelector('.toggle').click()").await;
        wait_for(
            &page,
            "document.querySelectorAll('#grid .row .new').length > 10",
        )
        .await;
        let new_id = eval(
            &page,
            "Number(document.querySelector('#grid .row .new').closest('.row').dataset.id)",
        )
        .await
        .as_u64()
        .unwrap();
        let member = rows(&page, "#grid")
            .await
            .into_iter()
            .find(|(_, id)| *id == Some(new_id))
            .unwrap();
        // Alloc. Size is its shallow size (the class's, as all are alike).
        let each = leaky_row.0[4].replace(',', "").parse::<i64>().unwrap() / 5000;
        assert_eq!(number(&member.0[4]), each, "{member:?}");
        assert_eq!(member.0[5], "");
        assert_eq!(node_status(&page, 0, new_id).await, 404);
        assert_eq!(node_status(&page, 1, new_id).await, 200);
        screenshot(&page, &dir.join("comparison.png")).await;
        // A class that lost objects lists them last, as the base has them.
        let gone = changed
            .iter()
            .filter(|c| c["removedCount"].as_u64().unwrap() > 0)
            .min_by_key(|c| c["addedCount"].as_u64().unwrap())
            .expect("some class lost objects");
        let members = eval(
            &page,
            &format!(
                "(async () => {{ const r = await fetch('/api/compare/members?base=0&current=1&key=' + encodeURIComponent({key}) + '&offset=0&limit=1000', authorized()); return r.json(); }})()",
                key = serde_json::to_string(gone["key"].as_str().unwrap()).unwrap()
            ),
        )
        .await;
        let items = members["items"].as_array().unwrap();
        let added = gone["addedCount"].as_u64().unwrap() as usize;
        assert_eq!(
            members["total"].as_u64().unwrap(),
            gone["addedCount"].as_u64().unwrap() + gone["removedCount"].as_u64().unwrap()
        );
        assert!(items[..added.min(items.len())]
            .iter()
            .all(|m| m["deleted"] == false));
        let deleted = items.last().unwrap();
        assert_eq!(deleted["deleted"], true, "{members}");
        let deleted_id = deleted["id"].as_u64().unwrap();
        assert_eq!(node_status(&page, 0, deleted_id).await, 200);
        assert_eq!(node_status(&page, 1, deleted_id).await, 404);

        // Containment from the root, Dominators, Statistics, strings.
        click_view(&page, "containment").await;
        assert!(rows(&page, "#grid").await.len() >= 3);
        screenshot(&page, &dir.join("containment.png")).await;
        click_view(&page, "dominators").await;
        let dominators = rows(&page, "#grid").await;
        assert!(!dominators.is_empty());
        let largest = summary["top"][0]["id"].as_u64();
        assert_eq!(
            dominators[0].1, largest,
            "the root's largest child is the largest object"
        );
        screenshot(&page, &dir.join("dominators.png")).await;
        click_view(&page, "statistics").await;
        let total = eval(
            &page,
            "[...document.querySelectorAll('#statistics-table tr')].pop().children[2].textContent",
        )
        .await;
        assert_eq!(
            number(total.as_str().unwrap()),
            summary["statistics"]["total"].as_i64().unwrap()
        );
        assert!(
            eval(
                &page,
                "document.querySelectorAll('#statistics-chart rect').length"
            )
            .await
            .as_u64()
            .unwrap()
                >= 5
        );
        screenshot(&page, &dir.join("statistics.png")).await;
        click_view(&page, "strings").await;
        assert!(
            !rows(&page, "#grid").await.is_empty(),
            "repeated strings exist in any Node heap"
        );
        screenshot(&page, &dir.join("strings.png")).await;
    });
    for shot in [
        "summary",
        "retainers",
        "comparison",
        "containment",
        "dominators",
        "statistics",
        "strings",
    ] {
        let png = std::fs::read(dir.join(format!("{shot}.png"))).unwrap();
        assert!(png.len() > 10_000, "{shot}.png is not blank");
    }
}

/// A `.heaptimeline` recorded by Node during the test: the bars, the whole
/// recording and a dragged range show what `leakscope timeline` prints.
#[test]
fn the_allocation_timeline_selects_ranges_like_the_cli() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("serve-timeline");
    let recording = timeline_snapshot(&dir);
    let file = recording.to_str().unwrap();
    let server = Server::start(&[&recording]);
    let browser = Browser::start(&dir.join("chromium-profile"));
    in_page(&browser, &server, async |page| {
        wait_for(&page, "document.body.dataset.viewReady === 'summary'").await;
        assert_eq!(
            eval(
                &page,
                "document.querySelector('#views [data-view=timeline]').hidden"
            )
            .await,
            false,
            "a recording offers the timeline"
        );
        click_view(&page, "timeline").await;
        wait_for(
            &page,
            "document.querySelector('#timeline-summary').dataset.ready",
        )
        .await;
        let bars = eval(
            &page,
            "document.querySelectorAll('#timeline-chart .bar').length",
        )
        .await;
        assert!(bars.as_u64().unwrap() >= 4, "a bar per sample: {bars}");
        // The whole recording.
        let check =
            |from: f64, to: f64, shown: Vec<(Vec<String>, Option<u64>)>, summary: String| {
                let cli = leakscope_json(&[
                    "timeline",
                    file,
                    "--from",
                    &from.to_string(),
                    "--to",
                    &to.to_string(),
                    "--top",
                    "1000",
                    "--json",
                ]);
                let objects = cli["objects"].as_i64().unwrap();
                assert!(
                    summary.contains(&format!("still alive: {} objects", fmt_thousands(objects))),
                    "{summary} vs {cli}"
                );
                let classes = cli["classes"].as_array().unwrap();
                for ((cells, _), class) in shown.iter().zip(classes).take(5) {
                    assert_eq!(
                        cells[0].trim_start_matches(['▸', '▾']),
                        class["name"].as_str().unwrap()
                    );
                    assert_eq!(number(&cells[1]), class["count"].as_i64().unwrap());
                    assert_eq!(number(&cells[2]), class["shallow_size"].as_i64().unwrap());
                }
                objects
            };
        let (from, to) = window(&page).await;
        assert_eq!(from, 0.0);
        let summary = eval(
            &page,
            "document.querySelector('#timeline-summary').textContent",
        )
        .await;
        let all = check(
            from,
            to,
            rows(&page, "#grid").await,
            summary.as_str().unwrap().to_owned(),
        );
        screenshot(&page, &dir.join("timeline.png")).await;
        // Drag across the middle half of the chart.
        eval(&page, "{ const c = document.querySelector('#timeline-chart'); const b = c.getBoundingClientRect(); const y = b.top + 60;
            const at = (type, f) => c.dispatchEvent(new MouseEvent(type, { clientX: b.left + b.width * f, clientY: y, bubbles: true }));
            document.querySelector('#timeline-summary').dataset.ready = '';
            at('mousedown', 0.25); at('mousemove', 0.5); at('mouseup', 0.75); }").await;
        wait_for(
            &page,
            "document.querySelector('#timeline-summary').dataset.ready",
        )
        .await;
        let (from, to) = window(&page).await;
        assert!(from > 0.0 && to < 1e9 && from < to, "{from} {to}");
        let summary = eval(
            &page,
            "document.querySelector('#timeline-summary').textContent",
        )
        .await;
        let part = check(
            from,
            to,
            rows(&page, "#grid").await,
            summary.as_str().unwrap().to_owned(),
        );
        assert!(
            part < all,
            "a part of the recording allocated less: {part} vs {all}"
        );
        screenshot(&page, &dir.join("timeline-range.png")).await;
    });
}

/// The range the timeline view last selected, in seconds.
async fn window(page: &Client) -> (f64, f64) {
    let from = eval(
        page,
        "Number(document.querySelector('#timeline-summary').dataset.from)",
    )
    .await;
    let to = eval(
        page,
        "Number(document.querySelector('#timeline-summary').dataset.to)",
    )
    .await;
    (from.as_f64().unwrap(), to.as_f64().unwrap())
}

/// 12345 → "12,345", as the page formats counts.
fn fmt_thousands(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Every self size in a profile's JSON tree, summed.
fn profile_bytes(node: &Value) -> u64 {
    node["selfSize"].as_u64().unwrap()
        + node["children"]
            .as_array()
            .unwrap()
            .iter()
            .map(profile_bytes)
            .sum::<u64>()
}

/// A sampling heap profile written by Node during the test, as a flame
/// graph: its bytes, the allocating function's frame, and zooming into it.
#[test]
fn a_heap_profile_is_a_flame_graph_that_zooms() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("serve-flame");
    let profile = dir.join("app.heapprofile");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/heapprofile.js");
    node(&[script.to_str().unwrap(), profile.to_str().unwrap()], &dir);
    let json: Value = serde_json::from_slice(&std::fs::read(&profile).unwrap()).unwrap();
    let bytes = profile_bytes(&json["head"]);
    assert!(bytes > 100_000, "{bytes}");
    let server = Server::start(&[&profile]);
    let browser = Browser::start(&dir.join("chromium-profile"));
    in_page(&browser, &server, async |page| {
        wait_for(&page, "document.body.dataset.viewReady === 'flame'").await;
        let root = eval(
            &page,
            "Number(document.querySelector('#flame .frame').dataset.total)",
        )
        .await;
        assert_eq!(root.as_u64().unwrap(), bytes);
        assert_eq!(
            eval(
                &page,
                "document.querySelector('#views [data-view=summary]').hidden"
            )
            .await,
            true,
            "a profile has no snapshot views"
        );
        let widgets = "[...document.querySelectorAll('#flame .frame')].find(f => f.dataset.name.startsWith('makeWidgets '))";
        wait_for(&page, widgets).await;
        let total = eval(&page, &format!("Number({widgets}.dataset.total)"))
            .await
            .as_u64()
            .unwrap();
        assert!(total > 0 && total < bytes, "{total} of {bytes}");
        screenshot(&page, &dir.join("flame.png")).await;
        eval(&page, &format!("{widgets}.querySelector('.label').click()")).await;
        wait_for(
            &page,
            "document.querySelector('#flame .frame').dataset.name.startsWith('makeWidgets ')",
        )
        .await;
        let zoomed = eval(
            &page,
            "Number(document.querySelector('#flame .frame').dataset.total)",
        )
        .await;
        assert_eq!(zoomed.as_u64().unwrap(), total);
        assert!(
            eval(&page, "document.querySelector('#flame-crumbs').textContent")
                .await
                .as_str()
                .unwrap()
                .starts_with("(root) › makeWidgets")
        );
        screenshot(&page, &dir.join("flame-zoomed.png")).await;
    });
}

/// Live mode on an app leakscope launches: the heap chart fills, "Take heap
/// snapshot" adds a snapshot the page then shows, "Collect garbage" reports
/// the heap before and after; stopping the server stops the app.
#[test]
fn live_mode_snapshots_and_collects_a_launched_app() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("serve-live");
    let app = corpus_app("clean-bounded-cache.js");
    let server = Server::start_with(&["--".as_ref(), "node".as_ref(), app.as_os_str()]);
    let browser = Browser::start(&dir.join("chromium-profile"));
    let pid = in_page(&browser, &server, async |page| {
        wait_for(&page, "!document.querySelector('#live').hidden").await;
        let pid: u32 = eval(&page, "document.querySelector('#live-pid').textContent")
            .await
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        wait_for(
            &page,
            "Number(document.querySelector('#live-chart').dataset.points) >= 2",
        )
        .await;
        eval(&page, "document.querySelector('#live-snapshot').click()").await;
        wait_for(&page, "document.body.dataset.viewReady === 'summary'").await;
        let name = format!("live-{pid}-1.heapsnapshot");
        assert_eq!(
            eval(
                &page,
                "document.querySelector('#snapshot-list [aria-selected=true] .name').textContent"
            )
            .await,
            name.as_str()
        );
        assert!(
            rows(&page, "#grid").await.len() >= 10,
            "the live snapshot's classes"
        );
        screenshot(&page, &dir.join("live.png")).await;
        eval(&page, "document.querySelector('#live-gc').click()").await;
        wait_for(
            &page,
            "document.querySelector('#live-result').textContent.startsWith('GC: heap used')",
        )
        .await;
        // The forced GC shows on the chart as a full GC.
        wait_for(
            &page,
            "Number(document.querySelector('#live-chart').dataset.fullGcs) >= 1",
        )
        .await;
        let used = eval(&page, "document.querySelector('#live-result').textContent").await;
        let numbers: Vec<i64> = used
            .as_str()
            .unwrap()
            .split(|c: char| !c.is_ascii_digit() && c != ',')
            .filter(|t| t.chars().any(|c| c.is_ascii_digit()))
            .map(number)
            .collect();
        assert!(numbers.len() == 2 && numbers[1] > 0, "{used}");
        pid
    });
    let alive = |pid: u32| Path::new(&format!("/proc/{pid}")).exists();
    assert!(alive(pid));
    // Ctrl-C: the server stops, and with it the app it launched.
    let mut server = server;
    nix_kill(server.child.id(), "INT");
    let status = server.child.wait().unwrap();
    assert!(status.code().is_some(), "{status:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!alive(pid), "the launched app {pid} was stopped");
}

fn nix_kill(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// The HTTP status of object `id` in snapshot `snapshot`, asked by the page:
/// 200 when the snapshot holds it, 404 when not.
async fn node_status(page: &Client, snapshot: u32, id: u64) -> Value {
    eval(
        page,
        &format!(
            "(async () => (await fetch('/api/s/{snapshot}/node/{id}', authorized())).status)()"
        ),
    )
    .await
}

/// The retainers the CLI lists first for object `id`: the object that holds
/// it on its retaining path, and the edge's name.
fn first_retainer(snapshot: &Path, id: u64) -> (u64, String) {
    let path = leakscope_json(&[
        "retainers",
        snapshot.to_str().unwrap(),
        "--id",
        &id.to_string(),
        "--json",
    ]);
    let first = &path["paths"][0];
    let hops = first["hops"].as_array().unwrap();
    let last = hops.last().unwrap();
    assert_eq!(last["to"]["id"].as_u64().unwrap(), id);
    let holder = if hops.len() >= 2 {
        &hops[hops.len() - 2]["to"]
    } else {
        &first["start"]
    };
    (
        holder["id"].as_u64().unwrap(),
        last["edge"].as_str().unwrap().to_owned(),
    )
}

/// Waits for the hunt report view, then checks it says what the hunt's JSON
/// says: the verdict names the holder, one heap point per snapshot.
async fn check_hunt_report(page: &Client, holder: &str, rounds: usize) {
    wait_for(page, "document.body.dataset.viewReady === 'hunt'").await;
    let verdict = eval(page, "document.querySelector('#hunt-verdict').textContent").await;
    assert_eq!(verdict.as_str().unwrap(), format!("Leak: {holder}"));
    let points = eval(
        page,
        "document.querySelectorAll('#hunt-heap-plot circle').length",
    )
    .await;
    assert_eq!(points.as_u64().unwrap() as usize, rounds + 1);
    let table_rows = eval(page, "document.querySelectorAll('#hunt-rounds tr').length").await;
    assert_eq!(
        table_rows.as_u64().unwrap() as usize,
        rounds + 1,
        "a header, a row per round"
    );
    assert!(
        eval(
            page,
            "document.querySelectorAll('#hunt-gc-plot circle').length"
        )
        .await
        .as_u64()
        .unwrap()
            > 0
    );
}

/// A hunt kept with `--keep` opens in `serve` from its `hunt.json`: the
/// report shows the findings and plots, and a step of the retaining path
/// opens that object in the last snapshot, its retainers the CLI's.
#[test]
fn a_kept_hunt_opens_as_a_report_whose_paths_lead_into_its_snapshots() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("serve-hunt");
    let out = dir.join("kept");
    let app = corpus_app("anonymous-listener.js");
    let (status, stdout, stderr) = leakscope_status(&[
        "hunt",
        "--keep",
        "--out",
        out.to_str().unwrap(),
        "--json",
        "--",
        "node",
        app.to_str().unwrap(),
    ]);
    assert_eq!(status, 1, "{stderr}");
    let h: Value = serde_json::from_str(&stdout).unwrap();
    let saved: Value =
        serde_json::from_slice(&std::fs::read(out.join("hunt.json")).unwrap()).unwrap();
    assert_eq!(saved["findings"], h["findings"]);
    let finding = &h["findings"][0];
    let holder = finding["holder"].as_str().unwrap();
    assert!(holder.starts_with("Array `seen`"), "{holder}");
    let holder_id = finding["holder_id"].as_u64().unwrap();
    let snapshots = h["snapshots"].as_array().unwrap();
    let last = PathBuf::from(snapshots.last().unwrap().as_str().unwrap());
    let rounds = h["rounds"].as_array().unwrap().len();
    assert_eq!(snapshots.len(), rounds + 1);

    let server = Server::start(&[&out.join("hunt.json")]);
    let browser = Browser::start(&dir.join("chromium-profile"));
    in_page(&browser, &server, async |page| {
        check_hunt_report(&page, holder, rounds).await;
        // Where the two unnamed functions of the leak are, and the advice.
        let unnamed = eval(
            &page,
            "[...document.querySelectorAll('#hunt .finding .unnamed')].map(e => e.textContent)",
        )
        .await;
        let unnamed: Vec<&str> = unnamed
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(unnamed.len(), 2, "{unnamed:?}");
        assert!(
            unnamed[1].contains("unnamed function at anonymous-listener.js:15:24"),
            "{unnamed:?}"
        );
        // The report's snapshots load beside it.
        wait_for(
            &page,
            "document.querySelector('#status').dataset.ready === 'all'",
        )
        .await;
        assert_eq!(
            eval(
                &page,
                "document.querySelectorAll('#snapshot-list li.ready').length"
            )
            .await
            .as_u64()
            .unwrap() as usize,
            snapshots.len() + 1
        );
        screenshot(&page, &dir.join("hunt.png")).await;
        // The holder's step on the path: the last snapshot, its retainers.
        eval(
            &page,
            &format!(
                "document.querySelector('#hunt .finding .step[data-id=\"{holder_id}\"]').click()"
            ),
        )
        .await;
        wait_for(&page, "document.body.dataset.viewReady === 'summary'").await;
        assert_eq!(
            eval(
                &page,
                "document.querySelector('#snapshot-list [aria-selected=true] .name').textContent"
            )
            .await,
            last.file_name().unwrap().to_str().unwrap()
        );
        wait_for(
            &page,
            "document.querySelectorAll('#retainers .row[data-id]').length > 0",
        )
        .await;
        let of = eval(&page, "document.querySelector('#retainers-of').textContent").await;
        assert!(
            of.as_str().unwrap().ends_with(&format!("@{holder_id}")),
            "{of}"
        );
        let (retainer, edge) = first_retainer(&last, holder_id);
        let retainers = rows(&page, "#retainers").await;
        assert_eq!(retainers[0].1, Some(retainer), "{retainers:?}");
        assert!(retainers[0].0[0].contains(&edge), "{retainers:?}");
        screenshot(&page, &dir.join("hunt-holder.png")).await;

        // The same report uploaded from the page shows, but the paths it
        // names are not the browser's to open: no snapshot joins it. It
        // links to the snapshots of those names already here.
        let uploaded = eval(
            &page,
            "(async () => {
               const report = (await (await fetch('/api/s/0/hunt', authorized())).json()).report;
               const sent = await fetch('/api/upload?name=again.json', authorized({ method: 'POST', body: JSON.stringify(report) }));
               return (await sent.json()).index;
             })()",
        )
        .await;
        let index = uploaded.as_u64().unwrap();
        assert_eq!(index as usize, snapshots.len() + 1);
        wait_for(
            &page,
            &format!("fetch('/api/s/{index}/hunt', authorized()).then(r => r.ok)"),
        )
        .await;
        let view = eval(
            &page,
            &format!("(async () => (await fetch('/api/s/{index}/hunt', authorized())).json())()"),
        )
        .await;
        let here: Vec<u64> = (1..=snapshots.len() as u64).collect();
        assert_eq!(view["snapshots"], serde_json::json!(here));
        let again = &view["report"]["findings"][0];
        assert_eq!(again["holder"], finding["holder"]);
        assert_eq!(again["path_to_holder"], finding["path_to_holder"]);
        let listed = eval(
            &page,
            "(async () => (await fetch('/api/snapshots', authorized())).json())().then(l => l.length)",
        )
        .await;
        assert_eq!(listed.as_u64().unwrap(), index + 1);
    });
}

/// "Hunt for a leak" on an app `serve` launched: the same hunt as the CLI's,
/// its report shown when it is done, and the target left as it was found.
#[test]
fn live_mode_hunts_the_launched_app() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("serve-live-hunt");
    let app = corpus_app("cache-leak.js");
    let server = Server::start_with(&["--".as_ref(), "node".as_ref(), app.as_os_str()]);
    let browser = Browser::start(&dir.join("chromium-profile"));
    in_page(&browser, &server, async |page| {
        wait_for(&page, "!document.querySelector('#live').hidden").await;
        // A recording first: its timeline must not stay over the report.
        eval(&page, "document.querySelector('#live-seconds').value = '1'; document.querySelector('#live-record').click()").await;
        wait_for(&page, "document.body.dataset.viewReady === 'timeline'").await;
        assert_eq!(
            eval(&page, "document.querySelector('#timeline').hidden").await,
            false
        );
        eval(&page, "document.querySelector('#live-hunt').click()").await;
        wait_for(
            &page,
            "document.querySelector('#live-activity').textContent.startsWith('hunting')",
        )
        .await;
        wait_for(&page, "document.body.dataset.viewReady === 'hunt'").await;
        let holder = eval(
            &page,
            "document.querySelector('#hunt .finding').dataset.holder",
        )
        .await;
        assert!(
            holder.as_str().unwrap().starts_with("Map `renderCache`"),
            "{holder}"
        );
        // Rounds as the page lists them: 3 unless a small suspect earned more.
        let rounds = eval(
            &page,
            "document.querySelectorAll('#hunt-rounds tr').length - 1",
        )
        .await;
        let rounds = rounds.as_u64().unwrap() as usize;
        assert!((3..=6).contains(&rounds), "{rounds}");
        check_hunt_report(&page, holder.as_str().unwrap(), rounds).await;
        let result = eval(&page, "document.querySelector('#live-result').textContent").await;
        assert_eq!(result, "hunt done: its report is shown");
        assert_eq!(
            eval(&page, "document.querySelector('#timeline').hidden").await,
            true
        );
        assert_eq!(
            eval(&page, "document.querySelector('#grid').hidden").await,
            true
        );
        // The header names the process once.
        let pid = eval(&page, "document.querySelector('#live-pid').textContent").await;
        let header = eval(
            &page,
            "document.querySelectorAll('#hunt .muted')[1].textContent",
        )
        .await;
        let header = header.as_str().unwrap();
        assert_eq!(
            header
                .matches(&format!("PID {}", pid.as_str().unwrap()))
                .count(),
            1,
            "{header}"
        );
        screenshot(&page, &dir.join("live-hunt.png")).await;
    });
}

/// "Ignore this retainer" as DevTools does it: distances are recomputed
/// without entering the ignored object, which is listed last as
/// unreachable; the first retaining chain opens by itself.
#[test]
fn ignoring_a_retainer_recomputes_distances() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("serve-ignore");
    let snapshot = dir.join("two-paths.heapsnapshot");
    let script = format!(
        "class Target {{ constructor() {{ this.tag = 'target'; }} }}
         const t = new Target();
         globalThis.nearHolder = {{ t }};
         globalThis.farHolder = {{ a: {{ b: {{ c: t }} }} }};
         require('v8').writeHeapSnapshot({snapshot:?});"
    );
    node(&["-e", &script], &dir);
    let server = Server::start(&[&snapshot]);
    let browser = Browser::start(&dir.join("chromium-profile"));
    in_page(&browser, &server, async |page| {
        wait_for(&page, "document.body.dataset.viewReady === 'summary'").await;
        let id = eval(
            &page,
            "(async () => {
               const classes = await (await fetch('/api/s/0/classes?filter=Target', authorized())).json();
               const target = classes.find((c) => c.name === 'Target');
               const page = await (await fetch('/api/s/0/instances?key=' + encodeURIComponent(target.key), authorized())).json();
               return page.items[0].id;
             })()",
        )
        .await
        .as_u64()
        .unwrap();
        eval(&page, &format!("document.querySelector('#search').value = '@{id}'; document.querySelector('#search-form').requestSubmit()")).await;
        wait_for(
            &page,
            "document.querySelector('#retainers').dataset.ready === 'none'",
        )
        .await;
        // First `nearHolder` (.t), opened up to the global object as
        // DevTools opens it; further down `farHolder.a.b` (.c), two steps
        // further from the roots.
        let before = rows(&page, "#retainers").await;
        assert!(before[0].0[0].starts_with("▾.t :: {t}"), "{before:?}");
        assert!(
            before[1].0[0].starts_with("▸.nearHolder :: global"),
            "{before:?}"
        );
        let near_distance = number(&before[0].0[1]);
        let near_id = before[0].1.unwrap();
        let far = before
            .iter()
            .find(|(c, _)| c[0].contains(".c :: {c}"))
            .expect("the far path")
            .clone();
        assert_eq!(number(&far.0[1]), near_distance + 2, "{before:?}");

        eval(
            &page,
            "document.querySelector('#retainers .row .ignore').click()",
        )
        .await;
        wait_for(
            &page,
            &format!("document.querySelector('#retainers').dataset.ready === '{near_id}'"),
        )
        .await;
        let after = rows(&page, "#retainers").await;
        // The ignored holder is listed last, unreachable ("–"); the far
        // path keeps its distance; the new first retainer is opened.
        let (last_cells, last_id) = after.last().unwrap();
        assert_eq!(*last_id, Some(near_id), "{after:?}");
        assert_eq!(last_cells[1], "–", "{after:?}");
        assert!(last_cells[0].contains("stop ignoring"));
        let far_after = after
            .iter()
            .find(|(_, i)| *i == far.1)
            .expect("the far path");
        assert_eq!(number(&far_after.0[1]), near_distance + 2);
        assert!(after[0].0[0].starts_with('▾'), "{after:?}");
        assert!(after.len() > 3, "{after:?}");
        assert_eq!(
            eval(
                &page,
                "document.querySelectorAll('#retainers .name .ignored').length"
            )
            .await,
            1
        );
        screenshot(&page, &dir.join("ignored.png")).await;
        // Stopping ignoring brings the first order back.
        eval(
            &page,
            "document.querySelector('#retainers .ignored-note .ignore').click()",
        )
        .await;
        wait_for(
            &page,
            "document.querySelector('#retainers').dataset.ready === 'none'",
        )
        .await;
        assert_eq!(rows(&page, "#retainers").await[0].1, Some(near_id));
    });
}

#[test]
fn open_hands_the_browser_a_private_file_not_the_token() {
    if skip_slow() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = test_dir("serve-open");
    let snapshot = small_app_snapshot(&dir);
    // A stand-in for xdg-open that records what it was given.
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let seen = dir.join("opened.txt");
    let opener = bin.join("xdg-open");
    std::fs::write(
        &opener,
        format!(
            "#!/bin/sh\ncat \"$1\" > '{}.page'\necho \"$@\" > '{}'\n",
            seen.display(),
            seen.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = common::leakscope_command()
        .args(["serve", snapshot.to_str().unwrap(), "--open"])
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let token = url.trim().rsplit("token=").next().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    let args = std::fs::read_to_string(&seen).expect("the opener ran");
    assert!(!args.contains(&token), "no token on a command line: {args}");
    assert!(args.trim().ends_with(".open.html"), "{args}");
    let page = std::fs::read_to_string(format!("{}.page", seen.display())).unwrap();
    assert!(page.contains(&format!("#token={token}")), "{page}");
}

#[test]
fn the_server_keeps_working_when_its_output_is_closed() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("serve-closed-output");
    let snapshot = small_app_snapshot(&dir);
    let mut child = common::leakscope_command()
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    // A wrapper that read the URL and went away.
    drop(child.stderr.take());
    let rest = url.trim().strip_prefix("http://").unwrap();
    let (addr, token) = rest.split_once("/#token=").unwrap();
    let body = std::fs::read(&snapshot).unwrap();
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST /api/upload?name=late.heapsnapshot HTTP/1.1\r\nHost: {addr}\r\nX-Leakscope-Token: {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body).unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let states = loop {
        let (_, _, states) = get(addr, "/api/snapshots", &[("X-Leakscope-Token", token)]);
        if !states.contains("\"loading\"") || Instant::now() > deadline {
            break states;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    assert!(
        states.contains("\"ready\""),
        "the upload was analysed: {states}"
    );
}

#[test]
fn uploads_are_bounded_and_an_aborted_one_leaves_nothing() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("serve-upload-limit");
    let snapshot = small_app_snapshot(&dir);
    let size = std::fs::metadata(&snapshot).unwrap().len();
    let limit = format!("{}", size + 10);
    let server = Server::start_with(&[std::ffi::OsStr::new("--max-upload"), limit.as_ref()]);
    let (addr, token) = (server.addr.clone(), server.token.clone());
    let send = |declared: u64, body: &[u8]| -> String {
        let mut stream = TcpStream::connect(&addr).unwrap();
        write!(
            stream,
            "POST /api/upload?name=x.heapsnapshot HTTP/1.1\r\nHost: {addr}\r\nX-Leakscope-Token: {token}\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        stream.write_all(body).unwrap();
        if (body.len() as u64) < declared && !body.is_empty() {
            // Cut short: the connection goes away mid-body.
            return String::new();
        }
        let mut reply = String::new();
        let _ = stream.read_to_string(&mut reply);
        reply
    };
    // Declared too big: refused before its body is read (none is sent).
    let reply = send(size + 11, &[]);
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    // Cut short: nothing stays in the private upload directory.
    let _ = send(size, &std::fs::read(&snapshot).unwrap()[..1000]);
    let uploads = std::env::temp_dir().join(format!("leakscope-serve-{}", server.child.id()));
    std::thread::sleep(Duration::from_millis(500));
    let left: Vec<_> = std::fs::read_dir(&uploads)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    // Two whole uploads of one name: two files, both analysed.
    for _ in 0..2 {
        let reply = send(size, &std::fs::read(&snapshot).unwrap());
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, _, states) = get(&addr, "/api/snapshots", &[("X-Leakscope-Token", &token)]);
        if states.matches("\"ready\"").count() == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "{states}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(std::fs::read_dir(&uploads).unwrap().count(), 2);
}

/// Presses `key` in the page through Chromium's input pipeline.
async fn press(page: &Client, key: &str, code: u32) {
    for kind in ["keyDown", "keyUp"] {
        let _: Value = page
            .call(
                "Input.dispatchKeyEvent",
                serde_json::json!({ "type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code }),
            )
            .await
            .unwrap();
    }
}

/// Drags element `selector` by `dx`, `dy` pixels with mouse events.
async fn drag(page: &Client, selector: &str, dx: i32, dy: i32) {
    eval(
        page,
        &format!(
            "{{ const e = document.querySelector('{selector}'); const b = e.getBoundingClientRect();
               const x = b.left + b.width / 2, y = b.top + b.height / 2;
               e.dispatchEvent(new MouseEvent('mousedown', {{ bubbles: true, clientX: x, clientY: y }}));
               document.dispatchEvent(new MouseEvent('mousemove', {{ bubbles: true, clientX: x + {dx}, clientY: y + {dy} }}));
               document.dispatchEvent(new MouseEvent('mouseup', {{ bubbles: true, clientX: x + {dx}, clientY: y + {dy} }})); }}"
        ),
    )
    .await;
}

/// The page's own requests that failed (status 400 or more).
async fn failed_requests(page: &Client) -> Vec<String> {
    let failed = eval(
        page,
        "performance.getEntriesByType('resource').filter(e => e.responseStatus >= 400).map(e => e.name)",
    )
    .await;
    serde_json::from_value(failed).unwrap()
}

/// A local HTTP server on another port that records the headers of the
/// first request it gets: what a page of the debugged app would see.
fn recording_server() -> (u16, std::sync::mpsc::Receiver<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (sent, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let mut stream = stream;
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
            );
            let _ = sent.send(head);
        }
    });
    (port, received)
}

/// The page as a DevTools user expects it, on snapshots Node wrote: the
/// default pair follows the order the files were given while the later,
/// bigger one still loads; the Summary filters count what the engine's
/// diff counts; sizes, sorting, resizing, the keyboard, the splitter,
/// several retaining paths, every search match, duplicated strings'
/// holders, failed loads dismissed, an upload shown when it is done, no
/// failed request, and no credential for another local server.
#[test]
fn the_page_works_like_devtools_and_beyond() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("serve-comfort");
    let (a, b) = (dir.join("a.heapsnapshot"), dir.join("b.heapsnapshot"));
    let script = format!(
        "class LeakyThing {{ constructor(i) {{ this.i = i; this.payload = 'payload '.repeat(4) + i; }} }}
         class HandlerPayload {{ constructor(i) {{ this.i = i; this.blob = new Array(8).fill(i); }} }}
         class SharedThing {{}}
         globalThis.keep = [];
         for (let i = 0; i < 1000; i++) keep.push(new LeakyThing(i));
         require('v8').writeHeapSnapshot({a:?});
         for (let i = 1000; i < 150000; i++) keep.push(new LeakyThing(i));
         const {{ EventEmitter }} = require('events');
         globalThis.bus = new EventEmitter();
         bus.setMaxListeners(0);
         (function listen() {{ for (let i = 0; i < 40; i++) {{ const p = new HandlerPayload(i); bus.on('tick', () => p.i); }} }})();
         globalThis.tags = [];
         for (let i = 0; i < 50; i++) tags.push({{ tag: 'duplicated-' + (i % 1) }});
         const shared = new SharedThing();
         globalThis.holderA = {{ x: shared }};
         globalThis.holderB = {{ y: shared }};
         require('v8').writeHeapSnapshot({b:?});"
    );
    node(&["-e", &script], &dir);
    let broken = dir.join("broken.heapsnapshot");
    std::fs::write(&broken, "{\"snapshot\": {\"meta\": ").unwrap();
    let diff = leakscope_json(&[
        "diff",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--top",
        "0",
        "--json",
    ]);
    let changed = diff["classes"].as_array().unwrap().clone();
    let added = |name: &str| {
        changed
            .iter()
            .find(|c| c["name"] == name)
            .map_or(0, |c| c["addedCount"].as_i64().unwrap())
    };
    let server = Server::start_with(&[
        "--no-cache".as_ref(),
        a.as_os_str(),
        b.as_os_str(),
        broken.as_os_str(),
    ]);
    let browser = Browser::start(&dir.join("chromium-profile"));
    let (other_port, other_headers) = recording_server();
    in_page(&browser, &server, async |page| {
        // Opened while b (the later, bigger file) still loads: the page
        // waits for it rather than settle on a, which finished first.
        wait_for(&page, "document.body.dataset.viewReady === 'summary'").await;
        let selected =
            "document.querySelector('#snapshot-list [aria-selected=true] .name').textContent";
        assert_eq!(eval(&page, selected).await, "b.heapsnapshot");
        screenshot(&page, &dir.join("list.png")).await;
        click_view(&page, "comparison").await;
        assert_eq!(
            eval(
                &page,
                "document.querySelector('#base').selectedOptions[0].textContent"
            )
            .await,
            "a.heapsnapshot"
        );
        let leaky = rows(&page, "#grid")
            .await
            .into_iter()
            .find(|(c, _)| c[0].ends_with("LeakyThing"))
            .expect("LeakyThing in the Comparison");
        assert_eq!(number(&leaky.0[1]), 149_000, "{leaky:?}");
        assert_eq!(number(&leaky.0[2]), 0, "{leaky:?}");

        // The failed file is listed with its reason, and can be dismissed.
        wait_for(
            &page,
            "document.querySelector('#snapshot-list li.failed') !== null",
        )
        .await;
        eval(
            &page,
            "document.querySelector('#snapshot-list li.failed .dismiss').click()",
        )
        .await;
        assert_eq!(
            eval(
                &page,
                "document.querySelectorAll('#snapshot-list li.failed').length"
            )
            .await,
            0
        );

        // Summary filters: "allocated between a and b" counts what the
        // diff counts as new, class by class.
        click_view(&page, "summary").await;
        wait_for(&page, "[...document.querySelectorAll('#only option')].some(o => o.value.startsWith('ids:') && o.textContent.includes('between'))").await;
        eval(&page, "{ const s = document.querySelector('#only'); s.value = [...s.options].find(o => o.textContent.includes('between')).value; s.dispatchEvent(new Event('change')); }").await;
        wait_for(&page, "document.body.dataset.viewReady === 'summary' && document.querySelector('#only').value.startsWith('ids:')").await;
        let only = eval(&page, "document.querySelector('#only').value").await;
        let filtered = eval(
            &page,
            &format!("(async () => (await fetch('/api/s/1/classes?only=' + encodeURIComponent({only}), authorized())).json())()"),
        )
        .await;
        let filtered = filtered.as_array().unwrap();
        for class in filtered {
            let name = class["name"].as_str().unwrap();
            assert_eq!(class["count"].as_i64().unwrap(), added(name), "{name}");
        }
        // And every JS object (odd id: V8's native and synthetic nodes have
        // even ids, not given in allocation order) the diff calls new is in
        // the filter.
        let new_js_objects = eval(
            &page,
            "(async () => {
               const diff = await (await fetch('/api/compare?base=0&current=1', authorized())).json();
               const out = {};
               for (const c of diff.filter((c) => c.addedCount > 0)) {
                 if (c.addedCount > 1000) { out[c.name] = c.addedCount; continue; }
                 const page = await (await fetch('/api/compare/members?base=0&current=1&limit=1000&key=' + encodeURIComponent(c.key), authorized())).json();
                 out[c.name] = (out[c.name] || 0) + page.items.filter((m) => !m.deleted && m.id % 2 === 1).length;
               }
               return out;
             })()",
        )
        .await;
        for (name, count) in new_js_objects.as_object().unwrap() {
            let shown = filtered
                .iter()
                .find(|c| c["name"] == name.as_str())
                .map_or(0, |c| c["count"].as_i64().unwrap());
            assert_eq!(shown, count.as_i64().unwrap(), "{name}");
        }
        for name in ["LeakyThing", "HandlerPayload", "SharedThing"] {
            assert!(
                filtered.iter().any(|c| c["name"] == name),
                "{name} in {filtered:?}"
            );
        }
        let shown = rows(&page, "#grid").await;
        let leaky = shown
            .iter()
            .find(|(c, _)| c[0].ends_with("LeakyThing"))
            .unwrap();
        assert_eq!(number(&leaky.0[1]), 149_000);
        screenshot(&page, &dir.join("summary-between.png")).await;
        // Event handlers: the 40 payloads only listeners keep.
        eval(&page, "{ const s = document.querySelector('#only'); s.value = 'handlers'; s.dispatchEvent(new Event('change')); }").await;
        wait_for(&page, "document.body.dataset.viewReady === 'summary' && [...document.querySelectorAll('#grid .row')].some(r => r.textContent.includes('HandlerPayload'))").await;
        let shown = rows(&page, "#grid").await;
        let payload = shown
            .iter()
            .find(|(c, _)| c[0].ends_with("HandlerPayload"))
            .unwrap();
        assert_eq!(number(&payload.0[1]), 40);
        assert!(
            !shown.iter().any(|(c, _)| c[0].ends_with("LeakyThing")),
            "{shown:?}"
        );
        // Detached nodes: Node's embedder marks some (AliasedUint8Array);
        // the filter lists them and what only they hold.
        eval(&page, "{ const s = document.querySelector('#only'); s.value = 'detached'; s.dispatchEvent(new Event('change')); }").await;
        wait_for(&page, "document.body.dataset.viewReady === 'summary' && document.querySelector('#only').value === 'detached'").await;
        let shown = rows(&page, "#grid").await;
        assert!(
            shown
                .iter()
                .any(|(c, _)| c[0].trim_start_matches(['▸', '▾']).starts_with("Detached ")),
            "{shown:?}"
        );
        assert!(
            !shown.iter().any(|(c, _)| c[0].ends_with("LeakyThing")),
            "{shown:?}"
        );
        // A filter that matches nothing says so.
        eval(&page, "{ const f = document.querySelector('#class-filter'); f.value = 'NoSuchClassAnywhere'; f.dispatchEvent(new Event('input')); }").await;
        wait_for(&page, "document.body.dataset.viewReady === 'summary' && document.querySelector('#class-filter').value === 'NoSuchClassAnywhere' && !document.querySelector('#grid .empty-hint').hidden").await;
        assert_eq!(
            eval(
                &page,
                "document.querySelector('#grid .empty-hint').textContent"
            )
            .await,
            "No class matches “NoSuchClassAnywhere” under this filter."
        );
        eval(
            &page,
            "{ const f = document.querySelector('#class-filter'); f.value = ''; }",
        )
        .await;
        eval(&page, "{ const s = document.querySelector('#only'); s.value = ''; s.dispatchEvent(new Event('change')); }").await;
        wait_for(&page, "document.body.dataset.viewReady === 'summary' && document.querySelectorAll('#grid .row').length > 5").await;

        // Sizes read as kB/MB, the exact bytes on hover; % columns headed.
        let cell = eval(&page, "(() => { const c = document.querySelector('#grid .row .cell.num .size'); return [c.textContent, c.title]; })()").await;
        let (text, title) = (cell[0].as_str().unwrap(), cell[1].as_str().unwrap());
        assert!(
            text.ends_with(" B") || text.ends_with(" kB") || text.ends_with(" MB"),
            "{text}"
        );
        assert!(title.ends_with(" bytes"), "{title}");
        let headers = eval(
            &page,
            "[...document.querySelectorAll('#grid .head .cell')].map(c => c.textContent)",
        )
        .await;
        assert_eq!(
            headers,
            serde_json::json!([
                "Constructor",
                "Count",
                "Distance",
                "Shallow Size",
                "Shallow %",
                "Retained Size",
                "Retained %"
            ])
        );
        // The empty Retainers pane says what to do.
        assert_eq!(
            eval(
                &page,
                "document.querySelector('#retainers .empty-hint').textContent"
            )
            .await,
            "Select an object to see what keeps it alive."
        );
        // Sorting by Count, down then up.
        eval(
            &page,
            "document.querySelectorAll('#grid .head .cell')[1].click()",
        )
        .await;
        let counts = |rows: Vec<(Vec<String>, Option<u64>)>| {
            rows.iter().map(|(c, _)| number(&c[1])).collect::<Vec<_>>()
        };
        let down = counts(rows(&page, "#grid").await);
        assert!(
            down.windows(2).all(|w| w[0] >= w[1]) && down[0] >= 149_000,
            "{down:?}"
        );
        eval(
            &page,
            "document.querySelectorAll('#grid .head .cell')[1].click()",
        )
        .await;
        let up = counts(rows(&page, "#grid").await);
        assert!(up.windows(2).all(|w| w[0] <= w[1]), "{up:?}");
        assert_eq!(
            eval(
                &page,
                "document.querySelectorAll('#grid .head .cell')[1].getAttribute('aria-sort')"
            )
            .await,
            "ascending"
        );
        // A column widened by its handle, rows and all.
        let before = eval(
            &page,
            "document.querySelectorAll('#grid .head .cell')[3].getBoundingClientRect().width",
        )
        .await
        .as_f64()
        .unwrap();
        drag(&page, "#grid .head .cell:nth-child(4) .resizer", 60, 0).await;
        let after = eval(&page, "[document.querySelectorAll('#grid .head .cell')[3].getBoundingClientRect().width, document.querySelector('#grid .row').children[3].getBoundingClientRect().width]").await;
        assert!(
            (after[0].as_f64().unwrap() - before - 60.0).abs() < 2.0,
            "{before} → {after}"
        );
        assert_eq!(after[0], after[1]);
        // The splitter gives the Retainers pane more room.
        let pane = "document.querySelector('#retainers-pane').getBoundingClientRect().height";
        let before = eval(&page, pane).await.as_f64().unwrap();
        drag(&page, "#splitter", 0, -100).await;
        let after = eval(&page, pane).await.as_f64().unwrap();
        assert!((after - before - 100.0).abs() < 2.0, "{before} → {after}");

        // Keyboard: a treegrid; Down selects, Right opens, Down enters,
        // Left goes back to the class; the selection shows its retainers.
        eval(
            &page,
            "document.querySelectorAll('#grid .head .cell')[1].click()",
        )
        .await; // Count, largest first
        assert_eq!(
            eval(
                &page,
                "document.querySelector('#grid').getAttribute('role')"
            )
            .await,
            "treegrid"
        );
        eval(&page, "document.querySelector('#grid .viewport').focus()").await;
        press(&page, "ArrowDown", 40).await;
        wait_for(
            &page,
            "document.querySelector('#grid .row[aria-selected=true]') !== null",
        )
        .await;
        let first = eval(
            &page,
            "document.querySelector('#grid .row[aria-selected=true]').textContent",
        )
        .await;
        assert!(
            first
                .as_str()
                .unwrap()
                .starts_with("▸(concatenated string)"),
            "the most numerous class first: {first}"
        );
        assert_eq!(eval(&page, "document.querySelector('#grid .row[aria-selected=true]').getAttribute('aria-rowindex')").await, "1");
        press(&page, "ArrowRight", 39).await;
        wait_for(&page, "document.querySelector('#grid .row[aria-selected=true]').getAttribute('aria-expanded') === 'true' && document.querySelectorAll('#grid .row[aria-level=\"2\"][data-id]').length > 5").await;
        press(&page, "ArrowDown", 40).await;
        wait_for(&page, "document.querySelector('#grid .row[aria-selected=true]').getAttribute('aria-level') === '2'").await;
        let child = eval(
            &page,
            "Number(document.querySelector('#grid .row[aria-selected=true]').dataset.id)",
        )
        .await;
        wait_for(
            &page,
            &format!("document.querySelector('#retainers-of').textContent.endsWith('@{child}')"),
        )
        .await;
        press(&page, "ArrowLeft", 37).await;
        wait_for(&page, "document.querySelector('#grid .row[aria-selected=true]').getAttribute('aria-level') === '1'").await;
        press(&page, "ArrowLeft", 37).await;
        wait_for(&page, "document.querySelector('#grid .row[aria-selected=true]').getAttribute('aria-expanded') === 'false'").await;
        screenshot(&page, &dir.join("keyboard.png")).await;

        // Several retaining paths: the object two globals hold.
        eval(&page, "{ const f = document.querySelector('#class-filter'); f.value = 'SharedThing'; f.dispatchEvent(new Event('input')); }").await;
        wait_for(&page, "document.querySelectorAll('#grid .row').length === 1 && document.body.dataset.viewReady === 'summary'").await;
        eval(
            &page,
            "document.querySelector('#grid .row .toggle').click()",
        )
        .await;
        wait_for(
            &page,
            "document.querySelector('#grid .row[data-id]') !== null",
        )
        .await;
        eval(
            &page,
            "document.querySelector('#grid .row[data-id]').click()",
        )
        .await;
        wait_for(
            &page,
            "Number(document.querySelector('#paths').dataset.ready) >= 2",
        )
        .await;
        let paths = eval(
            &page,
            "[...document.querySelectorAll('#paths .retaining-path')].map(p => p.textContent)",
        )
        .await;
        let paths: Vec<String> = serde_json::from_value(paths).unwrap();
        assert!(
            paths
                .iter()
                .any(|p| p.contains(".x") && p.contains(".holderA")),
            "{paths:?}"
        );
        assert!(
            paths
                .iter()
                .any(|p| p.contains(".y") && p.contains(".holderB")),
            "{paths:?}"
        );
        screenshot(&page, &dir.join("paths.png")).await;
        eval(&page, "{ const f = document.querySelector('#class-filter'); f.value = ''; f.dispatchEvent(new Event('input')); }").await;
        wait_for(&page, "document.querySelectorAll('#grid .row').length > 5 && document.body.dataset.viewReady === 'summary'").await;

        // Search: all 50 copies, next, and reveal one in the Summary.
        eval(&page, "document.querySelector('#search').value = 'duplicated-0'; document.querySelector('#search-form').requestSubmit()").await;
        wait_for(
            &page,
            "document.querySelector('#search-results').dataset.at === '0'",
        )
        .await;
        assert_eq!(
            eval(
                &page,
                "document.querySelector('#search-results').dataset.total"
            )
            .await,
            "50"
        );
        assert_eq!(
            eval(&page, "document.querySelector('#search-count').textContent").await,
            "Match 1 of 50 for duplicated-0"
        );
        eval(&page, "document.querySelector('#match-next').click()").await;
        wait_for(
            &page,
            "document.querySelector('#search-results').dataset.at === '1'",
        )
        .await;
        let second = eval(
            &page,
            "Number(document.querySelector('#matches .row[aria-selected=true]').dataset.id)",
        )
        .await;
        wait_for(
            &page,
            &format!("document.querySelector('#retainers-of').textContent.endsWith('@{second}')"),
        )
        .await;
        eval(&page, "document.querySelector('#match-prev').click(); document.querySelector('#match-prev').click()").await;
        wait_for(
            &page,
            "document.querySelector('#search-results').dataset.at === '49'",
        )
        .await;
        eval(&page, "document.querySelector('#match-next').click()").await;
        wait_for(
            &page,
            "document.querySelector('#search-results').dataset.at === '0'",
        )
        .await;
        eval(&page, "document.querySelector('#match-next').click()").await;
        wait_for(
            &page,
            "document.querySelector('#search-results').dataset.at === '1'",
        )
        .await;
        eval(&page, "document.querySelector('#match-reveal').click()").await;
        wait_for(
            &page,
            &format!("document.querySelector('#grid').dataset.revealed === '{second}'"),
        )
        .await;
        wait_for(
            &page,
            &format!(
                "document.querySelector('#grid .row.selected[data-id=\"{second}\"]') !== null"
            ),
        )
        .await;
        let revealed = eval(&page, &format!("[...document.querySelector('#grid .row.selected[data-id=\"{second}\"]').attributes].map(a => a.name + '=' + a.value).join(' ') + ' ' + document.querySelector('#grid .row.selected').textContent")).await;
        let revealed = revealed.as_str().unwrap();
        assert!(
            revealed.contains("aria-level=2") && revealed.contains("\"duplicated-0\""),
            "{revealed}"
        );
        screenshot(&page, &dir.join("search.png")).await;

        // Duplicated strings expand to the 50 objects holding the copies.
        eval(&page, "document.querySelector('#match-close').click()").await;
        click_view(&page, "strings").await;
        let group = eval(&page, "[...document.querySelectorAll('#grid .row')].findIndex(r => r.textContent.includes('\"duplicated-0\"'))").await;
        assert!(group.as_i64().unwrap() >= 0, "duplicated-0 is listed");
        eval(&page, "[...document.querySelectorAll('#grid .row')].find(r => r.textContent.includes('\"duplicated-0\"')).querySelector('.toggle').click()").await;
        eval(&page, "{ const r = [...document.querySelectorAll('#grid .row')].find(r => r.textContent.includes('\"duplicated-0\"')); document.querySelector('#grid .viewport').scrollTop = parseFloat(r.style.top); }").await;
        wait_for(
            &page,
            "document.querySelectorAll('#grid .row[aria-level=\"2\"][data-id]').length >= 8",
        )
        .await;
        let holders = eval(&page, "[...document.querySelectorAll('#grid .row[aria-level=\"2\"]')].map(r => r.textContent)").await;
        let holders: Vec<String> = serde_json::from_value(holders).unwrap();
        assert!(
            holders
                .iter()
                .all(|h| h.starts_with("▸.tag :: ") || h.starts_with(".tag :: ")),
            "{holders:?}"
        );
        let holders = eval(
            &page,
            "grid.root.kids.get(grid.root.items.findIndex((d) => d.text === 'duplicated-0')).count",
        )
        .await;
        assert_eq!(holders, 50);
        screenshot(&page, &dir.join("strings-holders.png")).await;

        // The Statistics legend; changing the view cleared the Retainers pane.
        click_view(&page, "statistics").await;
        assert_eq!(
            eval(&page, "[document.querySelector('#retainers-of').textContent, document.querySelector('#retainers .empty-hint')?.textContent]").await,
            serde_json::json!(["", "Select an object to see what keeps it alive."])
        );
        assert_eq!(
            eval(
                &page,
                "document.querySelectorAll('#statistics-table .swatch').length"
            )
            .await,
            6
        );

        // An upload: progress, then it is selected and shown.
        let doc: Value = page
            .call("DOM.getDocument", serde_json::json!({}))
            .await
            .unwrap();
        let input: Value = page
            .call(
                "DOM.querySelector",
                serde_json::json!({ "nodeId": doc["root"]["nodeId"], "selector": "#upload" }),
            )
            .await
            .unwrap();
        let uploaded = dir.join("uploaded.heapsnapshot");
        std::fs::copy(&a, &uploaded).unwrap();
        let _: Value = page
            .call(
                "DOM.setFileInputFiles",
                serde_json::json!({ "nodeId": input["nodeId"], "files": [uploaded.to_str().unwrap()] }),
            )
            .await
            .unwrap();
        wait_for(&page, "document.querySelector('#snapshot-list [aria-selected=true] .name').textContent === 'uploaded.heapsnapshot' && document.body.dataset.viewReady !== ''").await;
        let footer = eval(&page, "document.querySelector('#status').textContent").await;
        assert!(
            footer
                .as_str()
                .unwrap()
                .starts_with("uploaded.heapsnapshot: "),
            "{footer}"
        );

        // No request of the page failed (no routine 404s).
        assert_eq!(failed_requests(&page).await, Vec::<String>::new());

        // Another local server the browser visits gets no credential.
        let _: Value = page
            .call(
                "Page.navigate",
                serde_json::json!({ "url": format!("http://127.0.0.1:{other_port}/") }),
            )
            .await
            .unwrap();
        let head = other_headers.recv_timeout(Duration::from_secs(20)).unwrap();
        assert!(!head.to_ascii_lowercase().contains("cookie"), "{head}");
        assert!(!head.contains(&server.token), "{head}");
    });
}

/// `--listen 0.0.0.0:0`: a URL this machine can open, and the server
/// answers to IP literals and localhost (not to a domain a rebinding page
/// would use), with the token as always.
#[test]
fn listening_on_every_address_is_usable() {
    if skip_slow() {
        return;
    }
    let dir = test_dir("serve-any-address");
    let (a, _) = two_snapshots(&dir);
    let server = Server::start_with(&["--listen".as_ref(), "0.0.0.0:0".as_ref(), a.as_os_str()]);
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );
    let port = server.addr.rsplit(':').next().unwrap();
    let auth = ("X-Leakscope-Token", server.token.as_str());
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("10.11.12.13:{port}"),
    ] {
        let (code, _, _) = get(&server.addr, "/api/snapshots", &[("Host", &host), auth]);
        assert_eq!(code, 200, "{host}");
    }
    let (code, _, _) = get(
        &server.addr,
        "/api/snapshots",
        &[("Host", &format!("evil.example:{port}")), auth],
    );
    assert_eq!(code, 403);
    let (code, _, _) = get(
        &server.addr,
        "/api/snapshots",
        &[("Host", &format!("127.0.0.1:{port}"))],
    );
    assert_eq!(code, 401);
}
