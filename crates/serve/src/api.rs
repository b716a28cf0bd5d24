//! The JSON API the page calls: read-only queries on loaded snapshots
//! (paged, at most [`MAX_PAGE`] rows) and uploads of new snapshot files.
//! Queries run on the blocking pool, so a long one (a first comparison, a
//! sort of a million instances) never stalls the others.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use leakscope_explore::{Explorer, NodeFilter};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use crate::workspace::{Unavailable, Workspace};

/// Rows a page may ask for at once.
pub const MAX_PAGE: usize = 1000;

pub struct ApiState {
    pub workspace: Arc<Workspace>,
    /// Present when the server is attached to a running target.
    pub live: Option<Arc<crate::live::Live>>,
    /// Where uploads are written (a private directory removed on exit).
    pub uploads: PathBuf,
    /// The largest upload taken, in bytes.
    pub upload_limit: u64,
    /// Numbers each upload's file, so two with one name stay apart.
    pub next_upload: std::sync::atomic::AtomicU64,
}

pub type Shared = Arc<ApiState>;

#[derive(Deserialize)]
pub struct Paging {
    #[serde(default)]
    offset: usize,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    200
}

impl Paging {
    fn limit(&self) -> usize {
        self.limit.min(MAX_PAGE)
    }
}

pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body {
            error: String,
        }
        (self.0, Json(Body { error: self.1 })).into_response()
    }
}

impl From<Unavailable> for ApiError {
    fn from(u: Unavailable) -> Self {
        let status = match u {
            Unavailable::NoSuchSnapshot => StatusCode::NOT_FOUND,
            Unavailable::Loading | Unavailable::WrongKind(_) => StatusCode::CONFLICT,
            Unavailable::Failed(_) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError(status, u.to_string())
    }
}

fn not_found(what: &str) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, format!("no such {what}"))
}

/// Runs `query` on snapshot `index` on the blocking pool.
async fn on_snapshot<T: Serialize + Send + 'static>(
    state: &Shared,
    index: usize,
    query: impl FnOnce(&Explorer) -> Result<T, ApiError> + Send + 'static,
) -> Result<Json<T>, ApiError> {
    let explorer = state.workspace.explorer(index)?;
    tokio::task::spawn_blocking(move || query(&explorer.read().expect("explorer lock")))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map(Json)
}

pub async fn snapshots(State(state): State<Shared>) -> impl IntoResponse {
    Json(state.workspace.statuses())
}

pub async fn overview(State(s): State<Shared>, Path(n): Path<usize>) -> impl IntoResponse {
    on_snapshot(&s, n, |e| Ok(e.overview())).await
}

#[derive(Deserialize)]
pub struct ClassFilter {
    #[serde(default)]
    filter: String,
    #[serde(default)]
    only: String,
}

/// A Summary filter as the page names it: `ids:AFTER:UP_TO` (objects
/// allocated between two snapshots), `detached` or `handlers`; empty for
/// every object.
fn node_filter(only: &str) -> Result<Option<NodeFilter>, ApiError> {
    let bad = || {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("unknown filter {only:?}: ids:AFTER:UP_TO, detached or handlers"),
        )
    };
    Ok(match only {
        "" => None,
        "detached" => Some(NodeFilter::RetainedByDetachedDom),
        "handlers" => Some(NodeFilter::RetainedByEventHandlers),
        ids => {
            let mut parts = ids.strip_prefix("ids:").ok_or_else(bad)?.split(':');
            let mut id = || {
                parts
                    .next()
                    .and_then(|p| p.parse::<u32>().ok())
                    .ok_or_else(bad)
            };
            let (after, up_to) = (id()?, id()?);
            Some(NodeFilter::Ids { after, up_to })
        }
    })
}

pub async fn classes(
    State(s): State<Shared>,
    Path(n): Path<usize>,
    Query(q): Query<ClassFilter>,
) -> impl IntoResponse {
    let only = node_filter(&q.only);
    on_snapshot(&s, n, move |e| Ok(e.classes(&q.filter, only?))).await
}

/// Not `#[serde(flatten)]` of [`Paging`]: flattened query numbers arrive as
/// strings and fail to parse.
#[derive(Deserialize)]
pub struct InstancesQuery {
    key: String,
    #[serde(default)]
    only: String,
    #[serde(default)]
    offset: usize,
    #[serde(default = "default_limit")]
    limit: usize,
}

pub async fn instances(
    State(s): State<Shared>,
    Path(n): Path<usize>,
    Query(q): Query<InstancesQuery>,
) -> impl IntoResponse {
    let only = node_filter(&q.only);
    on_snapshot(&s, n, move |e| {
        e.instances(&q.key, only?, q.offset, q.limit.min(MAX_PAGE))
            .ok_or_else(|| not_found("class"))
    })
    .await
}

pub async fn locate(
    State(s): State<Shared>,
    Path((n, id)): Path<(usize, u32)>,
) -> impl IntoResponse {
    on_snapshot(&s, n, move |e| {
        e.locate(id)
            .ok_or_else(|| not_found("object in the Summary"))
    })
    .await
}

pub async fn node(State(s): State<Shared>, Path((n, id)): Path<(usize, u32)>) -> impl IntoResponse {
    on_snapshot(&s, n, move |e| {
        e.node(id).ok_or_else(|| not_found("object"))
    })
    .await
}

pub async fn fields(
    State(s): State<Shared>,
    Path((n, id)): Path<(usize, u32)>,
    Query(p): Query<Paging>,
) -> impl IntoResponse {
    on_snapshot(&s, n, move |e| {
        e.fields(id, p.offset, p.limit())
            .ok_or_else(|| not_found("object"))
    })
    .await
}

#[derive(Deserialize)]
pub struct RetainersQuery {
    #[serde(default)]
    offset: usize,
    #[serde(default = "default_limit")]
    limit: usize,
    /// Ids of retainers to ignore, comma-separated.
    #[serde(default)]
    ignore: String,
}

pub async fn retainers(
    State(s): State<Shared>,
    Path((n, id)): Path<(usize, u32)>,
    Query(q): Query<RetainersQuery>,
) -> impl IntoResponse {
    let ignored: Vec<u32> = q
        .ignore
        .split(',')
        .filter_map(|i| i.trim().parse().ok())
        .collect();
    on_snapshot(&s, n, move |e| {
        e.retainers_ignoring(id, &ignored, q.offset, q.limit.min(MAX_PAGE))
            .ok_or_else(|| not_found("object"))
    })
    .await
}

pub async fn path(State(s): State<Shared>, Path((n, id)): Path<(usize, u32)>) -> impl IntoResponse {
    on_snapshot(&s, n, move |e| {
        e.retaining_path(id).ok_or_else(|| not_found("object"))
    })
    .await
}

/// Retaining paths shown at once, each through another direct retainer.
const PATHS_SHOWN: usize = 5;

pub async fn paths(
    State(s): State<Shared>,
    Path((n, id)): Path<(usize, u32)>,
) -> impl IntoResponse {
    on_snapshot(&s, n, move |e| {
        e.retaining_paths(id, PATHS_SHOWN)
            .ok_or_else(|| not_found("object"))
    })
    .await
}

pub async fn dominated(
    State(s): State<Shared>,
    Path((n, id)): Path<(usize, u32)>,
    Query(p): Query<Paging>,
) -> impl IntoResponse {
    on_snapshot(&s, n, move |e| {
        e.dominated(id, p.offset, p.limit())
            .ok_or_else(|| not_found("object"))
    })
    .await
}

pub async fn dominator_root(State(s): State<Shared>, Path(n): Path<usize>) -> impl IntoResponse {
    on_snapshot(&s, n, |e| Ok(e.dominator_root())).await
}

pub async fn strings(
    State(s): State<Shared>,
    Path(n): Path<usize>,
    Query(p): Query<Paging>,
) -> impl IntoResponse {
    on_snapshot(&s, n, move |e| Ok(e.duplicate_strings(p.offset, p.limit()))).await
}

pub async fn string_holders(
    State(s): State<Shared>,
    Path((n, group)): Path<(usize, usize)>,
    Query(p): Query<Paging>,
) -> impl IntoResponse {
    on_snapshot(&s, n, move |e| {
        e.string_holders(group, p.offset, p.limit())
            .ok_or_else(|| not_found("duplicated string"))
    })
    .await
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: String,
    #[serde(default)]
    offset: usize,
    #[serde(default = "default_limit")]
    limit: usize,
}

pub async fn search(
    State(s): State<Shared>,
    Path(n): Path<usize>,
    Query(q): Query<SearchQuery>,
) -> impl IntoResponse {
    on_snapshot(&s, n, move |e| {
        Ok(e.search(&q.q, q.offset, q.limit.min(MAX_PAGE)))
    })
    .await
}

#[derive(Deserialize)]
pub struct CompareQuery {
    base: usize,
    current: usize,
}

pub async fn compare(
    State(s): State<Shared>,
    Query(q): Query<CompareQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let workspace = s.workspace.clone();
    let diff = tokio::task::spawn_blocking(move || workspace.compare(q.base, q.current))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    // Serialized from the shared rows: a clone would copy their members.
    let body = serde_json::to_vec(diff.as_slice())
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    ))
}

#[derive(Deserialize)]
pub struct MembersQuery {
    base: usize,
    current: usize,
    key: String,
    #[serde(default)]
    offset: usize,
    #[serde(default = "default_limit")]
    limit: usize,
}

pub async fn compare_members(
    State(s): State<Shared>,
    Query(q): Query<MembersQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let workspace = s.workspace.clone();
    let page = tokio::task::spawn_blocking(move || {
        workspace.comparison_members(q.base, q.current, &q.key, q.offset, q.limit.min(MAX_PAGE))
    })
    .await
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    Ok(Json(
        page.ok_or_else(|| not_found("class in this comparison"))?,
    ))
}

#[derive(Deserialize)]
pub struct UploadQuery {
    name: String,
}

/// A snapshot file sent by the page (its bytes, never a path: the browser
/// does not choose what the server reads). Written to the private upload
/// directory, then loaded like the files given on the command line.
pub async fn upload(
    State(s): State<Shared>,
    Query(q): Query<UploadQuery>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let too_big = |bytes: u64| {
        ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the upload is {bytes} bytes or more; this server takes at most {} bytes",
                s.upload_limit
            ),
        )
    };
    // Refused before a byte of the body is read.
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(bytes) = declared.filter(|&b| b > s.upload_limit) {
        return Err(too_big(bytes));
    }
    // Only the base name, without separators, is kept from what was sent.
    let name: String = q
        .name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect();
    let name = if name.is_empty() {
        "upload.heapsnapshot".to_owned()
    } else {
        name
    };
    let seq = s
        .next_upload
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = s.uploads.join(format!("{seq}-{name}"));
    let written = async {
        let io = |e: std::io::Error| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
        let mut file = tokio::fs::File::create_new(&path).await.map_err(io)?;
        let mut stream = body.into_data_stream();
        let mut total = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))?;
            total += chunk.len() as u64;
            if total > s.upload_limit {
                return Err(too_big(total));
            }
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)
    }
    .await;
    if let Err(e) = written {
        // An aborted or refused upload leaves nothing behind.
        let _ = tokio::fs::remove_file(&path).await;
        return Err(e);
    }
    let index = s.workspace.add_upload(&path, name);
    Ok(Json(serde_json::json!({ "index": index })))
}

pub async fn timeline(State(s): State<Shared>, Path(n): Path<usize>) -> impl IntoResponse {
    on_snapshot(&s, n, |e| {
        e.timeline()
            .ok_or_else(|| not_found("timeline (not a .heaptimeline recording)"))
    })
    .await
}

#[derive(Deserialize)]
pub struct WindowQuery {
    from: f64,
    to: f64,
    #[serde(default = "default_depth")]
    depth: usize,
}

fn default_depth() -> usize {
    4
}

pub async fn allocated(
    State(s): State<Shared>,
    Path(n): Path<usize>,
    Query(q): Query<WindowQuery>,
) -> impl IntoResponse {
    let positions = Arc::clone(s.workspace.positions());
    on_snapshot(&s, n, move |e| {
        e.allocated(q.from, q.to, q.depth.min(32), &positions)
            .ok_or_else(|| not_found("allocation stacks (not a .heaptimeline recording)"))
    })
    .await
}

pub async fn flame(
    State(s): State<Shared>,
    Path(n): Path<usize>,
) -> Result<impl IntoResponse, ApiError> {
    let tree = s.workspace.flame(n)?;
    Ok(Json(tree.as_ref().clone()))
}

pub async fn hunt(
    State(s): State<Shared>,
    Path(n): Path<usize>,
) -> Result<impl IntoResponse, ApiError> {
    let view = s.workspace.hunt(n)?;
    Ok(Json(view.as_ref().clone()))
}

fn live_of(s: &Shared) -> Result<Arc<crate::live::Live>, ApiError> {
    s.live
        .clone()
        .ok_or_else(|| not_found("live target (this server was started without one)"))
}

fn failed(message: String) -> ApiError {
    ApiError(StatusCode::BAD_GATEWAY, message)
}

/// The target's heap and activity; 204 (no content, and no error in the
/// browser's console) when the server is not attached to one.
pub async fn live_status(State(s): State<Shared>) -> Response {
    match &s.live {
        Some(live) => Json(live.status()).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// Runs a live action on a thread of its own: the capture functions report
/// progress through plain `FnMut`s, so their futures cannot move between
/// the server's threads. Actions are rare (a click), a thread each is cheap.
async fn on_own_thread<T: Send + 'static, E: std::fmt::Display + Send + 'static>(
    live: Arc<crate::live::Live>,
    action: impl AsyncFnOnce(&crate::live::Live) -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        let outcome = match runtime {
            Ok(runtime) => runtime
                .block_on(action(&live))
                .map_err(|e| failed(e.to_string())),
            Err(e) => Err(failed(e.to_string())),
        };
        let _ = done.send(outcome);
    });
    result
        .await
        .map_err(|_| failed("the live action stopped".into()))?
}

pub async fn live_snapshot(State(s): State<Shared>) -> Result<impl IntoResponse, ApiError> {
    let index = on_own_thread(live_of(&s)?, async |live| live.snapshot().await).await?;
    Ok(Json(serde_json::json!({ "index": index })))
}

pub async fn live_gc(State(s): State<Shared>) -> Result<impl IntoResponse, ApiError> {
    Ok(Json(
        on_own_thread(live_of(&s)?, async |live| live.gc().await).await?,
    ))
}

#[derive(Deserialize)]
pub struct RecordQuery {
    seconds: u64,
}

pub async fn live_record(
    State(s): State<Shared>,
    Query(q): Query<RecordQuery>,
) -> Result<impl IntoResponse, ApiError> {
    if !(1..=600).contains(&q.seconds) {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "seconds must be 1 to 600".into(),
        ));
    }
    let seconds = q.seconds;
    let index = on_own_thread(live_of(&s)?, async move |live| live.record(seconds).await).await?;
    Ok(Json(serde_json::json!({ "index": index })))
}

#[derive(Deserialize)]
pub struct HuntQuery {
    /// The path load goes to on the app's one HTTP port; empty for `/`.
    #[serde(default)]
    path: String,
}

pub async fn live_hunt(
    State(s): State<Shared>,
    Query(q): Query<HuntQuery>,
) -> Result<impl IntoResponse, ApiError> {
    // A path only: the page never points the load at another host.
    let path = q.path.trim();
    if !(path.is_empty() || path.starts_with('/')) {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "give a path on the app's port, starting with /".into(),
        ));
    }
    let url = Some(path.to_owned()).filter(|p| !p.is_empty());
    let index = on_own_thread(live_of(&s)?, async move |live| live.hunt(url).await).await?;
    Ok(Json(serde_json::json!({ "index": index })))
}
