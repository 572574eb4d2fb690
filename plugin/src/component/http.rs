//! `wasi:http/outgoing-handler` as the domain's blocking request-response.

use super::bindings;
use super::bindings::wasi::http::{outgoing_handler, types as http_types};
use crate::host::{HttpRequest, HttpResponse};

/// One blocking exchange over `wasi:http/outgoing-handler`.
pub(super) fn send(request: HttpRequest) -> Result<HttpResponse, String> {
    let (parts, body) = request.into_parts();
    let headers = http_types::Fields::new();
    for (name, value) in &parts.headers {
        headers
            .append(name.as_str(), value.as_bytes())
            .map_err(|e| format!("header {name}: {e:?}"))?;
    }
    // A declared length instead of chunked transfer: what Amazon's endpoints expect.
    if !body.is_empty() && !parts.headers.contains_key(http::header::CONTENT_LENGTH) {
        headers
            .append("content-length", body.len().to_string().as_bytes())
            .map_err(|e| format!("header content-length: {e:?}"))?;
    }
    let outgoing = http_types::OutgoingRequest::new(headers);
    let method = match parts.method.as_str() {
        "GET" => http_types::Method::Get,
        "POST" => http_types::Method::Post,
        "PUT" => http_types::Method::Put,
        "DELETE" => http_types::Method::Delete,
        other => http_types::Method::Other(other.to_owned()),
    };
    let scheme = match parts.uri.scheme_str() {
        Some("http") => http_types::Scheme::Http,
        _ => http_types::Scheme::Https,
    };
    let set = outgoing
        .set_method(&method)
        .and(outgoing.set_scheme(Some(&scheme)))
        .and(outgoing.set_authority(parts.uri.authority().map(|a| a.as_str())))
        .and(outgoing.set_path_with_query(parts.uri.path_and_query().map(|p| p.as_str())));
    set.map_err(|()| "the host refused the request line".to_owned())?;

    let outgoing_body = outgoing.body().map_err(|()| "request body unavailable")?;
    // The request goes to the host first, so that it reads the body while it is
    // written: a body larger than the stream's buffer would otherwise never drain.
    let future = outgoing_handler::handle(outgoing, None).map_err(|e| format!("{e:?}"))?;
    if !body.is_empty() {
        let stream = outgoing_body
            .write()
            .map_err(|()| "request body stream unavailable")?;
        // blocking-write-and-flush takes at most 4096 bytes per call, and waits for
        // the host to take them.
        for chunk in body.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| format!("writing the request body: {e:?}"))?;
        }
        drop(stream);
    }
    http_types::OutgoingBody::finish(outgoing_body, None)
        .map_err(|e| format!("finishing the request body: {e:?}"))?;

    future.subscribe().block();
    let incoming = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(format!("{code:?}")),
        Some(Err(())) | None => return Err("the response was already taken".into()),
    };

    let mut response = http::Response::builder().status(incoming.status());
    // Only what the component reads: naming any other header costs a parser.
    for (name, value) in incoming.headers().entries() {
        if let Some(name) = crate::headers::read(&name) {
            response = response.header(name, value);
        }
    }
    let incoming_body = incoming
        .consume()
        .map_err(|()| "response body unavailable")?;
    let stream = incoming_body
        .stream()
        .map_err(|()| "response body stream unavailable")?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(bindings::wasi::io::streams::StreamError::Closed) => break,
            Err(e) => return Err(format!("reading the response body: {e:?}")),
        }
    }
    drop(stream);
    let _trailers = http_types::IncomingBody::finish(incoming_body);
    response
        .body(bytes)
        .map_err(|e| format!("response head: {e}"))
}
