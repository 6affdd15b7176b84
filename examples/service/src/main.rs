//! An HTTP service that embeds the shipfn host.
//!
//! - `PUT /packages` with a `.fnpkg` body: verified, compiled once, stored by
//!   the SHA-256 of its bytes, so a client sends each package once.
//!   `201` with `{"id", "signature"}` (`200` if it was already there).
//! - `GET /packages/{id}`: the package's signature, captures and globals.
//! - `POST /packages/{id}/call` with `{"args": [..]}` (one JSON value per
//!   parameter): `200` with `{"result": ..}`.
//!
//! Every call runs in a fresh sandboxed instance under the limits given on
//! the command line. Errors are `{"error", "kind"}` with the status in the
//! README's table. On start the service prints `listening on ADDR`.
//!
//! Nothing a client sends can grow the service without bound: request
//! bodies, results, stored packages (least recently used dropped first),
//! connections, and the time a request or an idle connection may take are
//! all bounded (see `--help`).

mod serve;
mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use clap::Parser;
use serde_json::json;
use serde_json::value::RawValue;
use shipfn_host::{Error, ErrorKind, Function, Host, Limits};

use crate::store::Store;

/// Serve shipfn packages over HTTP.
#[derive(Parser, Debug)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Time limit per call.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Memory limit per call, in MiB.
    #[arg(long, default_value_t = 256)]
    max_memory_mib: usize,
    /// Largest result a call may return, in MiB.
    #[arg(long, default_value_t = 16)]
    max_result_mib: usize,
    /// Largest package accepted, in MiB.
    #[arg(long, default_value_t = 64)]
    max_package_mib: usize,
    /// Bytes of package uploads in flight across all connections, in MiB;
    /// an upload that would pass it is refused (503) rather than buffered.
    #[arg(long, default_value_t = 256)]
    max_uploading_mib: usize,
    /// Largest call body (`{"args": [...]}`) accepted, in KiB.
    #[arg(long, default_value_t = 1024)]
    max_call_kib: usize,
    /// Bytes of packages kept loaded, in MiB; past it the least recently
    /// used are dropped (a client then uploads again).
    #[arg(long, default_value_t = 512)]
    max_stored_mib: usize,
    /// Connections served at once; more wait until one closes.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Time a client has to send a request's headers.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    header_timeout: Duration,
    /// A connection on which nothing is read or written for this long is closed.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    idle_timeout: Duration,
    /// Time one request may take in all, body and work included.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    request_timeout: Duration,
}

#[derive(Clone)]
struct App {
    host: Host,
    packages: Arc<Store>,
    /// Largest call body, in bytes.
    max_call: usize,
    /// Largest package, in bytes.
    max_package: usize,
    /// Permits for the bytes of uploads in flight, one per byte.
    uploading: Arc<tokio::sync::Semaphore>,
}

/// An error as JSON with its HTTP status.
struct ApiError(StatusCode, String, &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1, "kind": self.2 }))).into_response()
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let (status, kind) = match e.kind() {
            ErrorKind::BadPackage => (StatusCode::UNPROCESSABLE_ENTITY, "bad_package"),
            ErrorKind::Untrusted => (StatusCode::FORBIDDEN, "untrusted"),
            ErrorKind::BadArgs => (StatusCode::BAD_REQUEST, "bad_args"),
            ErrorKind::GuestError => (StatusCode::UNPROCESSABLE_ENTITY, "guest_error"),
            ErrorKind::Trap => (StatusCode::INTERNAL_SERVER_ERROR, "trap"),
            ErrorKind::Timeout => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
            ErrorKind::ResourceLimit => (StatusCode::INSUFFICIENT_STORAGE, "resource_limit"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        ApiError(status, e.report(), kind)
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, format!("no package {id}; upload it with PUT /packages"), "not_found")
}

/// Runs blocking guest work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), "internal"))?
}

/// Reads an upload's body, holding one permit of `app.uploading` per byte
/// read until the upload is done: the bytes buffered across all uploads at
/// once stay within the budget, however many connections are stalled.
async fn read_upload(app: &App, request: Request) -> Result<(Bytes, tokio::sync::OwnedSemaphorePermit), ApiError> {
    use futures_util::StreamExt;
    let busy =
        || ApiError(StatusCode::SERVICE_UNAVAILABLE, "too many uploads in flight; try again later".into(), "busy");
    let mut held = app.uploading.clone().try_acquire_many_owned(0).map_err(|_| busy())?;
    let mut body = Vec::new();
    let mut stream = request.into_body().into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("the upload was not read: {e}"), "bad_request"))?;
        if body.len() + chunk.len() > app.max_package {
            let message = format!("a package may have at most {} bytes", app.max_package);
            return Err(ApiError(StatusCode::PAYLOAD_TOO_LARGE, message, "too_large"));
        }
        let more = u32::try_from(chunk.len()).map_err(|_| busy())?;
        held.merge(app.uploading.clone().try_acquire_many_owned(more).map_err(|_| busy())?);
        body.extend_from_slice(&chunk);
    }
    Ok((Bytes::from(body), held))
}

async fn upload(State(app): State<App>, request: Request) -> Result<Response, ApiError> {
    let (body, _uploading) = read_upload(&app, request).await?;
    let id = hex::encode(shipfn_host::sha256(&body));
    if let Some(f) = app.packages.get(&id) {
        return Ok(
            (StatusCode::OK, Json(json!({ "id": id, "signature": f.manifest().signature_text() }))).into_response()
        );
    }
    let (host, size) = (app.host.clone(), body.len());
    let function = blocking(move || host.load(&body).map_err(ApiError::from)).await?;
    let signature = function.manifest().signature_text();
    if !app.packages.insert(id.clone(), Arc::new(function), size) {
        return Err(ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the package is larger than the service keeps loaded".into(),
            "resource_limit",
        ));
    }
    Ok((StatusCode::CREATED, Json(json!({ "id": id, "signature": signature }))).into_response())
}

fn find(app: &App, id: &str) -> Result<Arc<Function>, ApiError> {
    app.packages.get(id).ok_or_else(|| not_found(id))
}

async fn info(State(app): State<App>, Path(id): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    let f = find(&app, &id)?;
    let sig = &f.manifest().signature;
    let fields = |fs: &[shipfn_host::Field]| {
        fs.iter().map(|f| json!({ "name": f.name, "type": shipfn_host::short_type_name(&f.ty) })).collect::<Vec<_>>()
    };
    Ok(Json(json!({
        "id": id,
        "signature": f.manifest().signature_text(),
        "params": fields(&sig.params),
        "captures": fields(&sig.captures),
        "globals": fields(&sig.globals),
    })))
}

/// A call's body: the arguments' JSON texts, borrowed from the body rather
/// than parsed into values.
#[derive(serde::Deserialize)]
struct CallBody<'a> {
    #[serde(borrow)]
    args: Vec<&'a RawValue>,
}

/// The package is looked up before the body is read, and the result (one
/// JSON value, checked by the host) is sent on as it is, never parsed.
async fn call(State(app): State<App>, Path(id): Path<String>, request: Request) -> Result<Response, ApiError> {
    let f = find(&app, &id)?;
    let body = axum::body::to_bytes(request.into_body(), app.max_call).await.map_err(|e| {
        let message = format!("the call body was not read ({e}); at most {} bytes are accepted", app.max_call);
        ApiError(StatusCode::PAYLOAD_TOO_LARGE, message, "bad_args")
    })?;
    let args = match serde_json::from_slice::<CallBody<'_>>(&body) {
        Ok(parsed) => parsed.args.iter().map(|a| a.get().to_owned()).collect::<Vec<_>>(),
        Err(e) => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("the body must be {{\"args\": [...]}}: {e}"),
                "bad_args",
            ));
        }
    };
    drop(body);
    let result = blocking(move || f.call_json(&args).map_err(ApiError::from)).await?;
    let chunks = [Bytes::from_static(b"{\"result\":"), Bytes::from(result.into_bytes()), Bytes::from_static(b"}")];
    let stream = futures_util::stream::iter(chunks.map(Ok::<_, std::convert::Infallible>));
    Ok(([(header::CONTENT_TYPE, "application/json")], Body::from_stream(stream)).into_response())
}

/// Ends a request that takes longer than `limit` in all.
async fn time_limit(limit: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError(StatusCode::REQUEST_TIMEOUT, format!("the request took longer than {limit:?}"), "timeout")
            .into_response(),
    }
}

fn router(app: App, args: &Args) -> Router {
    let request_timeout = args.request_timeout;
    Router::new()
        .route("/packages", put(upload).layer(DefaultBodyLimit::max(args.max_package_mib << 20)))
        .route("/packages/{id}", get(info))
        .route("/packages/{id}/call", post(call))
        .layer(axum::middleware::from_fn(move |request, next| time_limit(request_timeout, request, next)))
        .with_state(app)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let limits = Limits::default()
        .timeout(args.timeout)
        .max_memory(args.max_memory_mib << 20)
        .max_result(args.max_result_mib << 20);
    let packages = Arc::new(Store::new(args.max_stored_mib << 20));
    let uploading = (args.max_uploading_mib << 20).min(tokio::sync::Semaphore::MAX_PERMITS);
    let app = App {
        host: Host::new(limits)?,
        packages,
        max_call: args.max_call_kib << 10,
        max_package: args.max_package_mib << 20,
        uploading: Arc::new(tokio::sync::Semaphore::new(uploading)),
    };
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("listening on {}", listener.local_addr()?);
    let bounds = serve::Bounds {
        max_connections: args.max_connections,
        header_timeout: args.header_timeout,
        idle_timeout: args.idle_timeout,
    };
    serve::serve(listener, router(app, &args), bounds, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}
